//! The outbox: one loop per avisa that sleeps until the earliest due message (or a wake-up),
//! then, in due order, gathers each message's facts (still wanted? its store's instance, its
//! channel), asks the pure send gate (`domain::sending::gate`) and follows it: close, hold,
//! deliver to the sandbox, or claim under a lease, send through the channel and record the
//! attempt. Time and jitter are passed in: tests step a clock and never sleep. Uses `db`,
//! `domain` and `queue::channel`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};

use super::channel::{Channel, ChannelLookup, Receipt, SendError, SendReceipt};
use super::media::{Prepared, prepare, trouble};
pub use super::outbox_metrics::OutboxMetrics;
use crate::db::{AttemptOutcome, Db, DbError, ReceiptStatus, blocking};
use crate::domain::reason::Reason;
use crate::domain::sending::{Failure, Gate, SendFacts, gate, retry_delay};
use crate::domain::{Clock, MessageStatus};
use crate::domain::{Instance, InstanceId, InstanceMode, Message, MessageId, StoreId};

/// How long a claimed message may stay "sending" before a restart treats it as maybe sent.
pub const LEASE_S: i64 = 120;
/// The most due messages one pass looks at.
const BATCH: usize = 1000;
/// The longest the loop sleeps without a reason (quiet hours end, reconnects, midnight).
const MAX_SLEEP_S: i64 = 60;

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub held: usize,
    pub retried: usize,
    pub failed: usize,
    pub expired: usize,
    pub canceled: usize,
    /// When the next pass has work (Unix seconds), if known.
    pub next_wake: Option<i64>,
}

impl Pass {
    /// How long the loop sleeps after this pass (unless woken): none when work was done (more
    /// may be ready at once: other messages, other instances; pacing holds what is not), else
    /// until the next known wake time, at most `MAX_SLEEP_S`.
    pub fn sleep_s(&self, now: i64) -> i64 {
        if self.sent + self.retried + self.failed > 0 {
            0
        } else {
            self.next_wake
                .map_or(MAX_SLEEP_S, |w| (w - now).clamp(1, MAX_SLEEP_S))
        }
    }
}

/// The id a message goes out under: the one stored at its first claim, or, for a message
/// claimed before wire ids were stored, the legacy `AVISA{id}` its receipts are matched by.
pub fn wire_id(message: &Message) -> String {
    message.wire_id.clone().unwrap_or_else(|| {
        format!(
            "{}{}",
            crate::domain::deliverability::LEGACY_PREFIX,
            message.id
        )
    })
}

/// The sending loop of one avisa (see the module docs).
pub struct Outbox {
    metrics: Arc<OutboxMetrics>,
    db: Db,
    channels: Arc<dyn ChannelLookup>,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
    receipts: std::sync::Mutex<HashMap<InstanceId, broadcast::Receiver<Receipt>>>,
    /// Fetches media parts' files (URLs from webhook bodies: `Policy::media()`).
    media: crate::net::Client,
}

impl Outbox {
    /// `jitter` returns values in [0, 1); production passes a random source, tests a constant.
    pub fn new(
        db: Db,
        channels: Arc<dyn ChannelLookup>,
        clock: Arc<dyn Clock>,
        jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
    ) -> Outbox {
        Outbox {
            metrics: Arc::default(),
            db,
            channels,
            clock,
            jitter,
            receipts: std::sync::Mutex::new(HashMap::new()),
            media: crate::net::Client::new(crate::net::Policy::media()),
        }
    }

    /// Fetches media files with `client` instead (tests: the media policy with a loopback host
    /// allowed).
    pub fn set_media_client(&mut self, client: crate::net::Client) {
        self.media = client;
    }

    /// The counters `/metrics` reads.
    pub fn metrics(&self) -> Arc<OutboxMetrics> {
        self.metrics.clone()
    }

    /// Start-up: every lease left in the file belongs to a process that died mid-send (the data
    /// file's lock guarantees no other avisa is running), so all of them are requeued once,
    /// flagged "maybe sent".
    pub async fn recover(&self) -> Result<usize, DbError> {
        let db = self.db.clone();
        blocking(move || db.requeue_expired_leases(i64::MAX)).await
    }

    /// One pass over the due messages.
    pub async fn run_once(&self) -> Result<Pass, DbError> {
        self.drain_receipts().await?;
        self.review_health().await?;
        let now = self.clock.now();
        let db = self.db.clone();
        let due = blocking(move || db.due_messages(now, BATCH)).await?;
        let mut pass = Pass::default();
        // Each store's linked instance and each instance, read once per pass.
        let mut stores: HashMap<StoreId, Option<InstanceId>> = HashMap::new();
        let mut instances: HashMap<InstanceId, Option<Instance>> = HashMap::new();
        let mut used: HashSet<InstanceId> = HashSet::new();
        for message in due {
            let db = self.db.clone();
            let checked = message.clone();
            let (unwanted, invite_pending) =
                blocking(move || Ok((db.unwanted_reason(&checked)?, db.invite_pending(&checked)?)))
                    .await?;
            let instance_id = self.linked_instance(&mut stores, message.store_id).await;
            let instance = match instance_id {
                Some(id) => self.instance(&mut instances, id).await,
                None => None,
            };
            let channel = instance_id
                .and_then(|id| self.channels.channel(id))
                .filter(|c| c.state().borrow().is_connected());
            let facts = SendFacts {
                unwanted,
                linked: instance_id.is_some(),
                instance: instance.as_ref(),
                connected: channel.is_some(),
                sent_this_pass: instance_id.is_some_and(|id| used.contains(&id)),
                invite_pending,
            };
            match gate(&message, &facts, now) {
                Gate::Close { status, reason } => {
                    self.close(message.id, status, reason).await?;
                    match status {
                        MessageStatus::Expired => pass.expired += 1,
                        _ => pass.canceled += 1,
                    }
                }
                Gate::Sandbox => {
                    self.deliver_to_sandbox(&message, now).await?;
                    pass.sent += 1;
                }
                Gate::Hold(_) => pass.held += 1,
                Gate::WaitUntil(slot) => {
                    pass.held += 1;
                    pass.next_wake = Some(pass.next_wake.map_or(slot, |w| w.min(slot)));
                }
                Gate::Send => {
                    let (Some(instance_id), Some(instance), Some(channel)) =
                        (instance_id, instance, channel)
                    else {
                        unreachable!("the gate sends only through a linked, connected instance");
                    };
                    let lease_until = now + LEASE_S;
                    let db = self.db.clone();
                    let id = message.id;
                    // Stored with the claim, before the send: a retry after a crash goes out
                    // under the same id and its receipts still find the message.
                    let fresh_id = channel.new_message_id();
                    let Some(claimed) = blocking(move || {
                        db.claim_for_send(id, Some(instance_id), Some(fresh_id), lease_until, now)
                    })
                    .await?
                    else {
                        continue;
                    };
                    used.insert(instance_id);
                    let (result, note) = self.deliver(channel.as_ref(), &claimed, now).await?;
                    let mut outcome = self.outcome(&mut pass, &instance, &claimed, result, now);
                    if let AttemptOutcome::Sent { note: n, .. } = &mut outcome {
                        *n = note;
                    }
                    let db = self.db.clone();
                    blocking(move || db.record_attempt(id, lease_until, outcome, now)).await?;
                }
            }
        }
        for (outcome, n) in [
            ("sent", pass.sent),
            ("retried", pass.retried),
            ("failed", pass.failed),
            ("expired", pass.expired),
            ("canceled", pass.canceled),
        ] {
            self.metrics.count(outcome, n);
        }
        let db = self.db.clone();
        let next_due = blocking(move || db.due_messages(i64::MAX, 1))
            .await?
            .first()
            .map(|m| m.due_at);
        if let Some(due) = next_due.filter(|d| *d > now) {
            pass.next_wake = Some(pass.next_wake.map_or(due, |w| w.min(due)));
        }
        Ok(pass)
    }

    /// Sends the claimed message's part through `channel`: a text as it is, a media part with
    /// its file (`queue::media`), or as text with the link when the file cannot go; the second
    /// value is the history note saying so. Transient trouble with a file and a part with
    /// nothing to send come back as the send errors the outcome already handles.
    async fn deliver(
        &self,
        channel: &dyn Channel,
        claimed: &Message,
        now: i64,
    ) -> Result<(Result<SendReceipt, SendError>, Option<String>), DbError> {
        let to = claimed.phone.as_str();
        let wire = wire_id(claimed);
        let prepared = self.prepare(claimed, now).await?;
        let prepared = match prepared {
            Prepared::Media(file) => match channel.send_media(to, &file, &wire).await {
                Err(SendError::Media { reason, transient }) => {
                    match crate::media::parse_part(&claimed.text) {
                        Ok(Some(part)) => trouble(&part, &reason, transient, claimed.attempts),
                        _ => unreachable!("a prepared media part parses as media"),
                    }
                }
                sent => return Ok((sent, None)),
            },
            other => other,
        };
        Ok(match prepared {
            Prepared::Text(text) => (channel.send(to, &text, &wire).await, None),
            Prepared::AsText { text, note } => (channel.send(to, &text, &wire).await, Some(note)),
            Prepared::Retry(why) => (Err(SendError::Transient(why)), None),
            Prepared::Nothing(why) => (Err(SendError::Permanent(why)), None),
            Prepared::Media(_) => unreachable!("sent above"),
        })
    }

    /// `queue::media::prepare` on the blocking pool (storage and the media fetch block).
    async fn prepare(&self, claimed: &Message, now: i64) -> Result<Prepared, DbError> {
        let (db, client, message) = (self.db.clone(), self.media.clone(), claimed.clone());
        blocking(move || prepare(&db, &client, &message, now)).await
    }

    /// The instance the store is linked to (stores read once per pass; a store that cannot be
    /// read counts as unlinked).
    async fn linked_instance(
        &self,
        stores: &mut HashMap<StoreId, Option<InstanceId>>,
        store_id: StoreId,
    ) -> Option<InstanceId> {
        if let Some(linked) = stores.get(&store_id) {
            return *linked;
        }
        let db = self.db.clone();
        let store = blocking(move || db.store(store_id)).await.ok();
        let linked = store.and_then(|s| s.instance_id);
        stores.insert(store_id, linked);
        linked
    }

    /// The instance, read once per pass (one that cannot be read counts as gone).
    async fn instance(
        &self,
        instances: &mut HashMap<InstanceId, Option<Instance>>,
        id: InstanceId,
    ) -> Option<Instance> {
        if let Some(instance) = instances.get(&id) {
            return instance.clone();
        }
        let db = self.db.clone();
        let instance = blocking(move || db.instance(id)).await.ok();
        instances.insert(id, instance.clone());
        instance
    }

    /// What a send's result means for the message: sent (with the next pacing slot), held,
    /// retried on the schedule, or failed; counted in `pass`.
    fn outcome(
        &self,
        pass: &mut Pass,
        instance: &Instance,
        claimed: &Message,
        result: Result<SendReceipt, SendError>,
        now: i64,
    ) -> AttemptOutcome {
        match result {
            Ok(receipt) => {
                let at = if receipt.sent_at > 0 {
                    receipt.sent_at
                } else {
                    now
                };
                pass.sent += 1;
                self.metrics.observe_latency(at - claimed.due_at);
                AttemptOutcome::Sent {
                    at,
                    sandbox: instance.mode == InstanceMode::Sandbox,
                    next_slot: instance.effective_pacing().next_slot(at, (self.jitter)()),
                    note: None,
                }
            }
            Err(SendError::SessionUnavailable(reason)) => {
                pass.held += 1;
                AttemptOutcome::Hold {
                    reason: Reason::SessionUnavailable.with(reason),
                }
            }
            // `deliver` turns a media error into text or a retry; one reaching here fails.
            Err(SendError::Permanent(reason) | SendError::Media { reason, .. }) => {
                pass.failed += 1;
                AttemptOutcome::Fail { reason }
            }
            Err(error @ (SendError::Transient(_) | SendError::RateLimited(_))) => {
                let failure = if matches!(error, SendError::RateLimited(_)) {
                    Failure::RateLimited
                } else {
                    Failure::Transient
                };
                match retry_delay(claimed.attempts + 1, failure, (self.jitter)()) {
                    Some(delay) => {
                        pass.retried += 1;
                        AttemptOutcome::Retry {
                            at: now + delay,
                            reason: error.to_string(),
                        }
                    }
                    None => {
                        pass.failed += 1;
                        AttemptOutcome::Fail {
                            reason: format!(
                                "gave up after {} attempts: {error}",
                                claimed.attempts + 1
                            ),
                        }
                    }
                }
            }
        }
    }

    async fn close(
        &self,
        id: MessageId,
        status: MessageStatus,
        reason: &'static str,
    ) -> Result<(), DbError> {
        let db = self.db.clone();
        let now = self.clock.now();
        blocking(move || db.close_scheduled(id, status, reason, now)).await
    }

    /// The caixa de teste: the part is prepared as for WhatsApp (a media part's file fetched or
    /// drawn and recorded, or its fallback to text noted), then kept as sent.
    async fn deliver_to_sandbox(&self, message: &Message, now: i64) -> Result<(), DbError> {
        let db = self.db.clone();
        let id = message.id;
        let lease_until = now + LEASE_S;
        let Some(claimed) = blocking(move || db.claim_message(id, None, lease_until, now)).await?
        else {
            return Ok(());
        };
        let sent = |note| AttemptOutcome::Sent {
            at: now,
            sandbox: true,
            next_slot: 0,
            note,
        };
        let outcome = match self.prepare(&claimed, now).await? {
            Prepared::Text(_) | Prepared::Media(_) => sent(None),
            Prepared::AsText { note, .. } => sent(Some(note)),
            Prepared::Retry(why) => {
                match retry_delay(claimed.attempts + 1, Failure::Transient, (self.jitter)()) {
                    Some(delay) => AttemptOutcome::Retry {
                        at: now + delay,
                        reason: SendError::Transient(why).to_string(),
                    },
                    None => AttemptOutcome::Fail { reason: why },
                }
            }
            Prepared::Nothing(why) => AttemptOutcome::Fail { reason: why },
        };
        let db = self.db.clone();
        blocking(move || db.record_attempt(id, lease_until, outcome, now).map(drop)).await
    }

    /// Applies the receipts every channel reported since the last pass.
    async fn drain_receipts(&self) -> Result<(), DbError> {
        let mut pending = Vec::new();
        {
            let mut subscriptions = self.receipts.lock().expect("receipts lock");
            for instance_id in self.channels.instance_ids() {
                let rx = subscriptions.entry(instance_id).or_insert_with(|| {
                    self.channels
                        .channel(instance_id)
                        .map(|c| c.receipts())
                        .unwrap_or_else(|| broadcast::channel(1).1)
                });
                while let Ok(receipt) = rx.try_recv() {
                    pending.push(receipt);
                }
            }
        }
        for receipt in pending {
            let db = self.db.clone();
            let now = self.clock.now();
            blocking(move || {
                let wire = match &receipt {
                    Receipt::ServerAck { .. } => return Ok(()),
                    Receipt::ServerNack { message_id, .. }
                    | Receipt::Delivered { message_id, .. }
                    | Receipt::Read { message_id, .. } => message_id,
                };
                let Some(id) = db.message_for_wire(wire)? else {
                    return Ok(());
                };
                match receipt {
                    Receipt::ServerAck { .. } => Ok(()),
                    Receipt::ServerNack { reason, .. } => db.apply_nack(id, &reason, now),
                    Receipt::Delivered { at, .. } => {
                        db.apply_receipt(id, ReceiptStatus::Delivered, at)
                    }
                    Receipt::Read { at, .. } => db.apply_receipt(id, ReceiptStatus::Read, at),
                }
            })
            .await?;
        }
        Ok(())
    }

    /// Asks the deliverability policy about every instance with a channel (its counters moved
    /// with the last sends and receipts) and logs each change of level.
    async fn review_health(&self) -> Result<(), DbError> {
        let now = self.clock.now();
        for instance_id in self.channels.instance_ids() {
            let db = self.db.clone();
            if let Some(verdict) = blocking(move || db.review_health(instance_id, now)).await? {
                tracing::warn!(
                    instance_id = instance_id.0,
                    level = verdict.level.as_str(),
                    reason = verdict.reason,
                    "deliverability: instance level changed"
                );
            }
        }
        Ok(())
    }

    /// Runs passes forever: after each, sleeps until its next wake time, a wake-up, or a minute.
    pub fn spawn(self, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            match self.recover().await {
                Ok(n) if n > 0 => tracing::warn!(
                    messages = n,
                    "requeued messages whose send was interrupted (maybe sent)"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "lease recovery failed"),
            }
            loop {
                let sleep_s = match self.run_once().await {
                    Ok(pass) => {
                        if pass.sent + pass.failed + pass.expired + pass.canceled > 0 {
                            tracing::info!(
                                sent = pass.sent,
                                failed = pass.failed,
                                expired = pass.expired,
                                canceled = pass.canceled,
                                held = pass.held,
                                "outbox pass"
                            );
                        }
                        pass.sleep_s(self.clock.now())
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "outbox pass failed");
                        5
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(sleep_s as u64)) => {}
                    _ = wake.notified() => {}
                }
            }
        })
    }
}
