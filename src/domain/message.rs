//! Messages: one rendered text for one buyer, and the states it moves through (DESIGN.md):
//! `scheduled → queued → sending → sent → delivered → read`, with the side exits `canceled`,
//! `failed` and `expired`.

use serde::{Deserialize, Serialize};

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
