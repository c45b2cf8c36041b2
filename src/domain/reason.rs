//! Every reason a message's status change can carry, in one list, with the stable code stored in
//! its history. Pure: no I/O. The codes are stored data and report labels (the console
//! translates `messages.reason.<code>`): change a code and old messages no longer match it.

use std::fmt::Display;

/// Why a message was canceled, failed, expired or sent back to the queue.
///
/// Some reasons carry a detail after the code (`render_error: line 1: unknown variable`); they
/// are written with [`Reason::with`] and read back with [`Reason::of`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The order was paid, completed, refunded, canceled or charged back (the happy path).
    OrderClosed,
    /// The merchant marked the order paid in the console (dar baixa).
    MarkedPaid,
    /// The buyer is on the opt-out list.
    OptedOut,
    /// The buyer already got the most reminders allowed in the cap window.
    BuyerCap,
    /// Canceled by a person in the console.
    ByUser,
    /// The store's template for the kind was switched off before the message went out.
    TemplateOff,
    /// The store was deleted.
    StoreDeleted,
    /// The store was switched off.
    StoreDisabled,
    /// The buyer's data was erased (LGPD).
    BuyerErased,
    /// The outbox could not send it within 48 hours of its due time.
    NotSentWithin48h,
    /// A person moved it to a new time (or "enviar agora").
    Rescheduled,
    /// Its template did not render (detail: the render error).
    RenderError,
    /// Sent to the sandbox instead of WhatsApp (test mode or a test number).
    Sandbox,
    /// The process died mid-send: queued again once, it may reach the buyer twice.
    MaybeSent,
    /// It died mid-send a second time: given up rather than risk a third copy.
    MaybeSentTwice,
    /// WhatsApp refused it after the send call returned (detail: the server's reason).
    ServerRefused,
    /// No live WhatsApp session: held in the queue (detail: why).
    SessionUnavailable,
    /// A transient send failure, retried on the schedule (written from the channel's error).
    Transient,
    /// WhatsApp asked to slow down, retried later (written from the channel's error).
    RateLimited,
    /// Planned after the merchant mapped its event, too late to help ("chegou tarde").
    ArrivedLate,
    /// A media part went out as text with the link (detail: why the file could not go, pt-BR).
    MediaAsText,
    /// "Pedir resposta": held until the buyer answers the invitation or its wait is over.
    AwaitingReply,
    /// "Pedir resposta": the invitation went out; the wait for the answer started.
    ReplyTimer,
    /// "Pedir resposta": the buyer answered the invitation; the rest goes now.
    BuyerAnswered,
}

impl Reason {
    /// Every reason, in this order.
    pub const ALL: [Reason; 24] = [
        Reason::OrderClosed,
        Reason::MarkedPaid,
        Reason::OptedOut,
        Reason::BuyerCap,
        Reason::ByUser,
        Reason::TemplateOff,
        Reason::StoreDeleted,
        Reason::StoreDisabled,
        Reason::BuyerErased,
        Reason::NotSentWithin48h,
        Reason::Rescheduled,
        Reason::RenderError,
        Reason::Sandbox,
        Reason::MaybeSent,
        Reason::MaybeSentTwice,
        Reason::ServerRefused,
        Reason::SessionUnavailable,
        Reason::Transient,
        Reason::RateLimited,
        Reason::ArrivedLate,
        Reason::MediaAsText,
        Reason::AwaitingReply,
        Reason::ReplyTimer,
        Reason::BuyerAnswered,
    ];

    /// The stored code.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::OrderClosed => "order_closed",
            Reason::MarkedPaid => "marked_paid",
            Reason::OptedOut => "opted_out",
            Reason::BuyerCap => "buyer_cap",
            Reason::ByUser => "canceled_by_user",
            Reason::TemplateOff => "template_off",
            Reason::StoreDeleted => "store_deleted",
            Reason::StoreDisabled => "store_disabled",
            Reason::BuyerErased => "buyer_erased",
            Reason::NotSentWithin48h => "not_sent_within_48h",
            Reason::Rescheduled => "rescheduled",
            Reason::RenderError => "render_error",
            Reason::Sandbox => "sandbox",
            Reason::MaybeSent => "maybe_sent",
            Reason::MaybeSentTwice => "maybe_sent_twice",
            Reason::ServerRefused => "server_refused",
            // The channel's error text (`SendError`'s Display) starts with these words.
            Reason::SessionUnavailable => "session_unavailable",
            Reason::Transient => "transient",
            Reason::RateLimited => "rate limited",
            Reason::ArrivedLate => "arrived_late",
            Reason::MediaAsText => "media_as_text",
            Reason::AwaitingReply => "awaiting_reply",
            Reason::ReplyTimer => "reply_timer",
            Reason::BuyerAnswered => "buyer_answered",
        }
    }

    /// The stored text of this reason with a detail: `code: detail`.
    pub fn with(self, detail: impl Display) -> String {
        format!("{}: {detail}", self.code())
    }

    /// The reason whose code is exactly `code`.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reason of a stored text, with or without a detail after `: `.
    pub fn of(stored: &str) -> Option<Reason> {
        let code = stored.split_once(": ").map_or(stored, |(code, _)| code);
        Reason::from_code(code)
    }
}

impl Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_the_stored_ones() {
        // Stored data and reports use these exact strings: a change here is a migration.
        let table = [
            (Reason::OrderClosed, "order_closed"),
            (Reason::MarkedPaid, "marked_paid"),
            (Reason::OptedOut, "opted_out"),
            (Reason::BuyerCap, "buyer_cap"),
            (Reason::ByUser, "canceled_by_user"),
            (Reason::TemplateOff, "template_off"),
            (Reason::StoreDeleted, "store_deleted"),
            (Reason::StoreDisabled, "store_disabled"),
            (Reason::BuyerErased, "buyer_erased"),
            (Reason::NotSentWithin48h, "not_sent_within_48h"),
            (Reason::Rescheduled, "rescheduled"),
            (Reason::RenderError, "render_error"),
            (Reason::Sandbox, "sandbox"),
            (Reason::MaybeSent, "maybe_sent"),
            (Reason::MaybeSentTwice, "maybe_sent_twice"),
            (Reason::ServerRefused, "server_refused"),
            (Reason::SessionUnavailable, "session_unavailable"),
            (Reason::Transient, "transient"),
            (Reason::RateLimited, "rate limited"),
            (Reason::ArrivedLate, "arrived_late"),
            (Reason::MediaAsText, "media_as_text"),
            (Reason::AwaitingReply, "awaiting_reply"),
            (Reason::ReplyTimer, "reply_timer"),
            (Reason::BuyerAnswered, "buyer_answered"),
        ];
        assert_eq!(table.len(), Reason::ALL.len());
        for (reason, code) in table {
            assert_eq!(reason.code(), code);
            assert_eq!(Reason::from_code(code), Some(reason));
        }
    }

    #[test]
    fn reason_details_follow_the_code() {
        let stored = Reason::RenderError.with("line 1: unknown variable `x`");
        assert_eq!(stored, "render_error: line 1: unknown variable `x`");
        assert_eq!(Reason::of(&stored), Some(Reason::RenderError));
        assert_eq!(
            Reason::of("rate limited: slow down"),
            Some(Reason::RateLimited)
        );
        assert_eq!(Reason::of("buyer_cap"), Some(Reason::BuyerCap));
        assert_eq!(Reason::of("something else"), None);
        assert_eq!(Reason::from_code("render_error: x"), None);
    }
}
