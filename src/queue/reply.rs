//! An attendant's reply, sent at once: gathers the facts (the store, its instance, whether the
//! channel is connected, the buyer's opt-out, the números de teste), follows
//! `domain::reply::route`, takes one of the instance's daily sends, sends through the channel
//! (or, for a test, keeps it for the caixa de teste only) and keeps the reply in the buyer's
//! conversation with who sent it. Outside the outbox: no pacing, no quiet hours, no retries (a
//! person is watching and can send again). Uses `db`, `domain` and the channel traits.

use super::channel::{ChannelLookup, SendError};
use crate::db::{ConversationEntry, Db, DbError, NewAttendantReply, blocking};
use crate::domain::reply::{ReplyFacts, ReplyRefusal, ReplyRoute, route};
use crate::domain::{InstanceId, StoreId};

/// What an attendant asked to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyRequest {
    pub store_id: StoreId,
    /// The buyer's address (E.164, or the WhatsApp address their reply came from).
    pub buyer: String,
    pub text: String,
    /// The user's name, kept on the line.
    pub by: String,
}

/// What became of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Sent (or, for a test, delivered to the caixa de teste) and kept in the conversation.
    Sent(ConversationEntry),
    /// Not sent, nothing kept: why.
    Refused(ReplyRefusal),
    /// The channel refused it: kept in the conversation with the error, the daily send given
    /// back.
    NotSent(ConversationEntry),
}

/// Sends one attendant's reply at `now`.
pub async fn send_reply(
    db: &Db,
    channels: &dyn ChannelLookup,
    request: ReplyRequest,
    now: i64,
) -> Result<ReplyOutcome, DbError> {
    let text = request.text.trim().to_owned();
    let (store, instance, opted_out, test_number) = {
        let db = db.clone();
        let (store_id, buyer) = (request.store_id, request.buyer.clone());
        blocking(move || {
            let store = db.store(store_id)?;
            let instance = match store.instance_id {
                Some(id) => match db.instance(id) {
                    Ok(instance) => Some(instance),
                    Err(DbError::NotFound) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            let test_number = db.message_settings()?.test_numbers.contains(&buyer);
            Ok((store, instance, db.is_opted_out(&buyer)?, test_number))
        })
        .await?
    };
    let channel = instance.as_ref().and_then(|i| channels.channel(i.id));
    let connected = channel
        .as_ref()
        .is_some_and(|c| c.state().borrow().is_connected());
    let facts = ReplyFacts {
        store: &store,
        instance: instance.as_ref(),
        connected,
        opted_out,
        test_number,
    };
    let chosen = match route(&text, &facts, now) {
        Ok(chosen) => chosen,
        Err(refusal) => return Ok(ReplyOutcome::Refused(refusal)),
    };
    if let Some(id) = chosen.counted_instance() {
        let db = db.clone();
        if !blocking(move || db.take_daily_send(id, now)).await? {
            return Ok(ReplyOutcome::Refused(ReplyRefusal::DailyLimit));
        }
    }
    let error = match (chosen, channel) {
        // A test reply is delivered by being kept: the caixa de teste shows it.
        (ReplyRoute::TestBox | ReplyRoute::TestInstance(_), _) => None,
        (ReplyRoute::Whatsapp(id), Some(channel)) => {
            let wire_id = channel.new_message_id();
            match channel.send(&request.buyer, &text, &wire_id).await {
                Ok(_) => None,
                Err(SendError::SessionUnavailable(_)) => {
                    give_back(db, id, now).await?;
                    return Ok(ReplyOutcome::Refused(ReplyRefusal::NotConnected));
                }
                Err(e) => {
                    tracing::warn!(instance_id = id.0, error = %e, "attendant reply not sent");
                    give_back(db, id, now).await?;
                    Some(e.to_string())
                }
            }
        }
        (ReplyRoute::Whatsapp(id), None) => {
            unreachable!("instance {id} routed as connected has a channel")
        }
    };
    let sent = error.is_none();
    let db = db.clone();
    let line = blocking(move || {
        db.record_attendant_reply(&NewAttendantReply {
            instance_id: chosen.counted_instance(),
            store_id: store.id,
            buyer: &request.buyer,
            text: &text,
            by: &request.by,
            at: now,
            test: chosen.is_test(),
            error,
        })
    })
    .await?;
    // Outbound webhooks (issue 19, item 3) report a sent attendant reply from here, once the
    // line is kept (an event beside `buyer.replied`, which `queue::inbox` reports).
    Ok(if sent {
        ReplyOutcome::Sent(line)
    } else {
        ReplyOutcome::NotSent(line)
    })
}

async fn give_back(db: &Db, id: InstanceId, now: i64) -> Result<(), DbError> {
    let db = db.clone();
    blocking(move || db.give_back_daily_send(id, now)).await
}
