//! Messages: one rendered text for one buyer, and the states it moves through (DESIGN.md):
//! `scheduled → queued → sending → sent → delivered → read`, with the side exits `canceled`,
//! `failed` and `expired`.

use serde::{Deserialize, Serialize};

use super::{EventId, EventKind, InstanceId, MessageId, StoreId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Scheduled,
    Queued,
    Sending,
    Sent,
    Delivered,
    Read,
    Canceled,
    Failed,
    Expired,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 9] = [
        MessageStatus::Scheduled,
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Canceled,
        MessageStatus::Failed,
        MessageStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Scheduled => "scheduled",
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Canceled => "canceled",
            MessageStatus::Failed => "failed",
            MessageStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<MessageStatus> {
        MessageStatus::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Not yet handed to WhatsApp: it can still be canceled or rescheduled.
    pub fn is_pending(self) -> bool {
        matches!(self, MessageStatus::Scheduled | MessageStatus::Queued)
    }

    /// Counts as a message the buyer got or will get (for the per-buyer cap).
    pub fn is_live(self) -> bool {
        !matches!(
            self,
            MessageStatus::Canceled | MessageStatus::Failed | MessageStatus::Expired
        )
    }
}

/// One status change, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub at: i64,
    pub status: MessageStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub store_id: StoreId,
    pub event_id: EventId,
    pub kind: EventKind,
    /// 0 for the first message, 1.. for follow-ups.
    pub step: u32,
    /// Parts of one step go out in order (text, then the PIX code on its own).
    pub part: u32,
    pub order_id: Option<String>,
    /// E.164.
    pub phone: String,
    pub buyer_name: Option<String>,
    /// Product names, sorted and joined: matches purchases without an order id.
    pub product_key: String,
    pub text: String,
    pub due_at: i64,
    pub status: MessageStatus,
    pub history: Vec<StatusChange>,
    /// Planned for a store in test mode or a merchant test number: goes to the sandbox.
    pub test: bool,
    pub created_at: i64,
    /// Failed send attempts so far (transient failures retry on the schedule).
    #[serde(default)]
    pub attempts: u32,
    /// The process died between handing it to WhatsApp and recording the outcome: it was sent
    /// again once and may have reached the buyer twice.
    #[serde(default)]
    pub maybe_sent: bool,
    /// The instance it went out through.
    #[serde(default)]
    pub instance_id: Option<InstanceId>,
    /// The id it carries on the wire (`3EB0…`, like WhatsApp Web's), chosen at its first claim
    /// and kept for every later try, so receipts and a crash-retry find it. Messages sent before
    /// it existed went out as `AVISA{id}` and have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_id: Option<String>,
    /// Counted as unanswered in its instance's health (the buyer had not written in 30 days
    /// when it went out) until the buyer answers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_reply: bool,
    /// Its part in a "pedir resposta" step: the invitation, or a part held until the buyer
    /// answers it (or its timeout passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_role: Option<super::deliverability::ReplyRole>,
}

impl Message {
    /// Whether the buyer asked to be forgotten (LGPD): the message names no one any more.
    pub fn is_erased(&self) -> bool {
        super::erasure::is_pseudonym(&self.phone)
    }

    /// The reason of the latest change, when it has one.
    pub fn reason(&self) -> Option<&str> {
        self.history.last().and_then(|c| c.reason.as_deref())
    }
}

/// A buyer who asked not to be messaged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptOut {
    pub phone: String,
    pub added_at: i64,
    /// `console`, `reply` (the WhatsApp channel), …
    pub source: String,
}

/// One change of a message's status, named by what happened. Each names the states it may leave
/// (exactly the checks the storage code made before the change went through here) and the state
/// it enters; [`transition`] applies it and appends the history entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Canceled before it went out (happy path, a person, an opt-out, a store's deletion),
    /// with the stored reason code. From `scheduled` or `queued`.
    Cancel(String),
    /// Moved to a new due time by a person ("reagendar", "enviar agora"). From `scheduled` or
    /// `queued`; back to `scheduled`.
    Reschedule { due_at: i64 },
    /// "Pedir resposta" moved a held part: its invitation went out (the wait starts) or the
    /// buyer answered (it goes now), with the stored reason code. From `scheduled` only.
    Await { due_at: i64, reason: String },
    /// Taken by the outbox for sending, through `instance_id`. From `scheduled` only.
    Claim { instance_id: Option<InstanceId> },
    /// Ended at send time (`expired`, or `canceled` because it is no longer wanted), with the
    /// stored reason code. From `scheduled` only.
    Close {
        status: MessageStatus,
        reason: String,
    },
    /// The attempt went out (to the sandbox when `sandbox`). Any state: the lease holder records
    /// its outcome whatever happened meanwhile.
    Sent { sandbox: bool },
    /// A transient failure: counted, back to `scheduled` at `due_at`. Any state, as `Sent`.
    Retry { due_at: i64, reason: String },
    /// No live session: back to `scheduled` at its due time, not counted. Any state, as `Sent`.
    Hold { reason: String },
    /// A permanent failure: counted, `failed`. Any state, as `Sent`.
    Fail { reason: String },
    /// Its lease ran out mid-send: queued again once, flagged maybe-sent. From `sending`.
    Requeue,
    /// Its lease ran out a second time: `failed` rather than risk a third copy. From `sending`.
    GiveUp,
    /// WhatsApp's receipt: delivered. From `sent`.
    Delivered,
    /// WhatsApp's receipt: read. From `sent` or `delivered`.
    Read,
    /// WhatsApp refused it after the send call returned. From `sending` or `sent`.
    Refused { detail: String },
}

/// A change the message's current status does not allow; nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAllowed {
    pub from: MessageStatus,
}

impl Change {
    /// True when a message in `from` may go through this change.
    pub fn allowed_from(&self, from: MessageStatus) -> bool {
        use MessageStatus::*;
        match self {
            Change::Cancel(_) | Change::Reschedule { .. } => from.is_pending(),
            Change::Claim { .. } | Change::Close { .. } | Change::Await { .. } => from == Scheduled,
            Change::Sent { .. }
            | Change::Retry { .. }
            | Change::Hold { .. }
            | Change::Fail { .. } => true,
            Change::Requeue | Change::GiveUp => from == Sending,
            Change::Delivered => from == Sent,
            Change::Read => matches!(from, Sent | Delivered),
            Change::Refused { .. } => matches!(from, Sending | Sent),
        }
    }
}

/// Applies `change` to `message` at `at` (the history entry's time): the status, the fields the
/// change moves (due time, attempts, instance, flags) and one history entry with its reason.
/// Returns the status it left, so storage can keep the outbox index in step.
pub fn transition(
    message: &mut Message,
    change: Change,
    at: i64,
) -> Result<MessageStatus, NotAllowed> {
    use super::reason::Reason;
    let from = message.status;
    if !change.allowed_from(from) {
        return Err(NotAllowed { from });
    }
    let (status, reason) = match change {
        Change::Cancel(reason) => (MessageStatus::Canceled, Some(reason)),
        Change::Reschedule { due_at } => {
            message.due_at = due_at;
            // A person chose its time: it no longer waits for an answer.
            if matches!(
                message.reply_role,
                Some(super::deliverability::ReplyRole::Held { .. })
            ) {
                message.reply_role = None;
            }
            (
                MessageStatus::Scheduled,
                Some(Reason::Rescheduled.code().to_owned()),
            )
        }
        Change::Await { due_at, reason } => {
            message.due_at = due_at;
            (MessageStatus::Scheduled, Some(reason))
        }
        Change::Claim { instance_id } => {
            message.instance_id = instance_id;
            (MessageStatus::Sending, None)
        }
        Change::Close { status, reason } => (status, Some(reason)),
        Change::Sent { sandbox } => {
            if sandbox {
                message.test = true;
            }
            (
                MessageStatus::Sent,
                sandbox.then(|| Reason::Sandbox.code().to_owned()),
            )
        }
        Change::Retry { due_at, reason } => {
            message.attempts += 1;
            message.due_at = due_at;
            (MessageStatus::Scheduled, Some(reason))
        }
        Change::Hold { reason } => (MessageStatus::Scheduled, Some(reason)),
        Change::Fail { reason } => {
            message.attempts += 1;
            (MessageStatus::Failed, Some(reason))
        }
        Change::Requeue => {
            message.maybe_sent = true;
            (
                MessageStatus::Scheduled,
                Some(Reason::MaybeSent.code().to_owned()),
            )
        }
        Change::GiveUp => (
            MessageStatus::Failed,
            Some(Reason::MaybeSentTwice.code().to_owned()),
        ),
        Change::Delivered => (MessageStatus::Delivered, None),
        Change::Read => (MessageStatus::Read, None),
        Change::Refused { detail } => (
            MessageStatus::Failed,
            Some(Reason::ServerRefused.with(detail)),
        ),
    };
    message.status = status;
    message.history.push(StatusChange { at, status, reason });
    Ok(from)
}
