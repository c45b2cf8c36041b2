//! The inbox: follows every channel's incoming messages (channels may appear later) and, for
//! each buyer reply, keeps it in the buyer's history, then either takes an opt-out word
//! (opt-out list + one confirmation) or lets the instance's auto-reply answer (at most once per
//! buyer per 24 h), unless the reply answers a "pedir resposta" invitation: then the parts it
//! held go now (`db::ask_reply`) and the outbox is woken. A redelivered reply (same WhatsApp id) is handled once. Answers go straight
//! through the channel: they answer someone who just wrote, so pacing and quiet hours (which
//! protect unsolicited sends) do not hold them. Uses `db`, `domain` and the channel traits.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::channel::{Channel, ChannelLookup, Incoming};
use crate::db::{ConversationKind, Db, DbError, NewConversationEntry, blocking};
use crate::domain::inbox::{DEFAULT_OPT_OUT_WORDS, auto_reply_due, is_opt_out};
use crate::domain::{Clock, InstanceId};

/// What handling one reply did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Seen before (same WhatsApp id): nothing done.
    Duplicate,
    /// Put on the opt-out list; `confirmed` when the confirmation went out now.
    OptedOut { confirmed: bool },
    /// Answered by the auto-reply (`sent` false when the channel refused it).
    AutoReplied { sent: bool },
    /// Kept in the history only.
    Kept,
    /// An answer to a "pedir resposta" invitation: these held parts go now (the outbox was
    /// woken), and the auto-reply stays quiet (the buyer gets what they asked for).
    Released { parts: usize },
}

#[derive(Clone)]
pub struct Inbox {
    db: Db,
    channels: Arc<dyn ChannelLookup>,
    clock: Arc<dyn Clock>,
    /// The outbox's wake-up: released parts should not wait for its next pass.
    wake: Option<Arc<Notify>>,
}

/// Runs a storage call off the async workers: a transaction never spans an `.await`.
impl Inbox {
    pub fn new(db: Db, channels: Arc<dyn ChannelLookup>, clock: Arc<dyn Clock>) -> Inbox {
        Inbox {
            db,
            channels,
            clock,
            wake: None,
        }
    }

    /// Rings `wake` (the outbox's) when a reply releases held parts.
    pub fn waking(mut self, wake: Arc<Notify>) -> Inbox {
        self.wake = Some(wake);
        self
    }

    /// Handles one reply that arrived on `instance_id`'s `channel`.
    pub async fn handle(
        &self,
        instance_id: InstanceId,
        channel: &dyn Channel,
        mut incoming: Incoming,
    ) -> Result<Handled, DbError> {
        // A buyer who writes under a LID only (no phone on the message) is known by the phone
        // the channel learnt for that LID when it can say: their reply then releases the parts
        // held behind an invitation, and an opt-out word reaches their phone.
        if incoming.from.contains('@')
            && let Some(phone) = channel.phone_of(&incoming.from).await
        {
            incoming.from = phone;
        }
        let db = self.db.clone();
        let settings = blocking(move || db.message_settings()).await?;
        let words = if settings.opt_out_words.is_empty() {
            DEFAULT_OPT_OUT_WORDS
                .iter()
                .map(|w| (*w).to_owned())
                .collect()
        } else {
            settings.opt_out_words
        };
        let opt_out = is_opt_out(&incoming.text, &words);
        let buyer = incoming.from.clone();
        let db = self.db.clone();
        let reply = incoming.clone();
        let handled_at = self.clock.now();
        let (recorded, already_out) = blocking(move || {
            let already_out = db.is_opted_out(&reply.from)?;
            let entry = NewConversationEntry {
                instance_id,
                buyer: &reply.from,
                kind: ConversationKind::Reply,
                text: &reply.text,
                at: reply.at,
                opt_out,
                error: None,
            };
            Ok((
                db.record_reply_releasing(&entry, reply.id.as_deref(), handled_at)?,
                already_out,
            ))
        })
        .await?;
        let Some((_, released)) = recorded else {
            return Ok(Handled::Duplicate);
        };
        let now = self.clock.now();
        let wire_id = channel.new_message_id();
        if opt_out {
            let db = self.db.clone();
            let phone = buyer.clone();
            let canceled = blocking(move || db.add_opt_out(&phone, "reply", now)).await?;
            tracing::info!(
                instance_id = instance_id.0,
                canceled,
                "buyer opted out by reply"
            );
            if already_out {
                return Ok(Handled::OptedOut { confirmed: false });
            }
            let text = if settings.opt_out_confirmation.trim().is_empty() {
                crate::domain::inbox::DEFAULT_OPT_OUT_CONFIRMATION.to_owned()
            } else {
                settings.opt_out_confirmation
            };
            let sent = self
                .answer(
                    instance_id,
                    channel,
                    &buyer,
                    &text,
                    &wire_id,
                    ConversationKind::OptOutConfirmation,
                )
                .await?;
            return Ok(Handled::OptedOut { confirmed: sent });
        }
        if already_out {
            return Ok(Handled::Kept);
        }
        if !released.is_empty() {
            tracing::info!(
                instance_id = instance_id.0,
                parts = released.len(),
                "buyer answered an invitation: held parts released"
            );
            if let Some(wake) = &self.wake {
                wake.notify_one();
            }
            return Ok(Handled::Released {
                parts: released.len(),
            });
        }
        let db = self.db.clone();
        let text = match blocking(move || db.instance(instance_id)).await {
            Ok(instance) => instance.auto_reply.active_text().map(str::to_owned),
            Err(DbError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let Some(text) = text else {
            return Ok(Handled::Kept);
        };
        let db = self.db.clone();
        let to = buyer.clone();
        let claimed = blocking(move || {
            db.claim_auto_reply(instance_id, &to, now, |last| auto_reply_due(last, now))
        })
        .await?;
        if !claimed {
            return Ok(Handled::Kept);
        }
        let sent = self
            .answer(
                instance_id,
                channel,
                &buyer,
                &text,
                &wire_id,
                ConversationKind::AutoReply,
            )
            .await?;
        Ok(Handled::AutoReplied { sent })
    }

    /// Sends one answer and keeps it in the buyer's history, with the refusal if there was one.
    async fn answer(
        &self,
        instance_id: InstanceId,
        channel: &dyn Channel,
        buyer: &str,
        text: &str,
        wire_id: &str,
        kind: ConversationKind,
    ) -> Result<bool, DbError> {
        let error = match channel.send(buyer, text, wire_id).await {
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(instance_id = instance_id.0, kind = kind.as_str(), error = %e, "answer to a buyer not sent");
                Some(e.to_string())
            }
        };
        let sent = error.is_none();
        let db = self.db.clone();
        let (buyer, text) = (buyer.to_owned(), text.to_owned());
        let at = self.clock.now();
        blocking(move || {
            db.record_answer(&NewConversationEntry {
                instance_id,
                buyer: &buyer,
                kind,
                text: &text,
                at,
                opt_out: false,
                error,
            })
        })
        .await?;
        Ok(sent)
    }

    /// Follows one channel's replies until it goes away.
    async fn follow(self, instance_id: InstanceId, channel: Arc<dyn Channel>) {
        let mut rx = channel.incoming();
        loop {
            match rx.recv().await {
                Ok(incoming) => {
                    if let Err(e) = self.handle(instance_id, channel.as_ref(), incoming).await {
                        tracing::error!(instance_id = instance_id.0, error = %e, "buyer reply not handled");
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(
                        instance_id = instance_id.0,
                        missed = n,
                        "buyer replies arrived faster than they were handled"
                    );
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Follows every channel, picking up channels added (or replaced) later; stops following
    /// removed ones.
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut changes = self.channels.changes();
            let mut followers: HashMap<InstanceId, (Arc<dyn Channel>, JoinHandle<()>)> =
                HashMap::new();
            loop {
                let ids = self.channels.instance_ids();
                followers.retain(|id, (channel, task)| {
                    let current = self.channels.channel(*id);
                    let keep = current.is_some_and(|c| Arc::ptr_eq(&c, channel));
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for id in ids {
                    if followers.contains_key(&id) {
                        continue;
                    }
                    if let Some(channel) = self.channels.channel(id) {
                        let task = tokio::spawn(self.clone().follow(id, channel.clone()));
                        followers.insert(id, (channel, task));
                    }
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}
