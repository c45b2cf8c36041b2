//! Messages: one rendered text for one buyer, and the states it moves through (DESIGN.md):
//! `scheduled → queued → sending → sent → delivered → read`, with the side exits `canceled`,
//! `failed` and `expired`.

use serde::{Deserialize, Serialize};

use super::EventKind;

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

/// Why a message stopped before being sent. Stable codes, shown translated in the console.
pub mod cancel_reason {
    /// The order was paid, completed, refunded, canceled or charged back (the happy path).
    pub const ORDER_CLOSED: &str = "order_closed";
    /// The merchant marked the order paid in the console (dar baixa).
    pub const MARKED_PAID: &str = "marked_paid";
    /// The buyer is on the opt-out list.
    pub const OPTED_OUT: &str = "opted_out";
    /// The buyer already got the most reminders allowed in 24 hours.
    pub const BUYER_CAP: &str = "buyer_cap";
    /// Canceled by a person in the console.
    pub const BY_USER: &str = "canceled_by_user";
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
    pub id: u64,
    pub store_id: u64,
    pub event_id: u64,
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
    pub instance_id: Option<u64>,
}

impl Message {
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
