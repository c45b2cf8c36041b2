//! "Pedir resposta": a template's first message goes out alone as an invitation to answer
//! ("Responda 1 para receber o link do seu boleto aqui"); the rest of that step waits for the
//! buyer's answer, or goes anyway once the merchant's timeout has passed since the invitation
//! went out, so nothing is lost. An answered conversation is what WhatsApp's anti-spam side
//! wants to see (a reply resets the unanswered count). Pure: the template's option, each
//! message's role, and the times; `db` moves the held parts, the gate waits for the invitation.

use serde::{Deserialize, Serialize};

use crate::domain::{EventKind, MessageId, MessageStatus};

/// When the merchant chose none: ten minutes, then the rest goes without an answer.
pub const DEFAULT_TIMEOUT_MIN: u32 = 10;
/// The longest wait the editor accepts (a day; the 48 h expiry still counts from the first due).
pub const MAX_TIMEOUT_MIN: u32 = 24 * 60;

/// A template's "pedir resposta" option. Off by default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AskReply {
    pub enabled: bool,
    /// The invitation, a template part rendered once at planning like any part; blank means
    /// the shipped one for the kind ([`default_invite`]).
    pub invite: String,
    /// Minutes after the invitation went out when the rest goes anyway.
    pub timeout_min: u32,
}

impl Default for AskReply {
    fn default() -> Self {
        AskReply {
            enabled: false,
            invite: String::new(),
            timeout_min: DEFAULT_TIMEOUT_MIN,
        }
    }
}

impl AskReply {
    /// Never touched: not stored, so templates saved before the option read as they were.
    pub fn is_default(&self) -> bool {
        *self == AskReply::default()
    }

    /// The invitation's template text for `kind`: the merchant's, or the shipped one.
    pub fn invite_text(&self, kind: EventKind) -> &str {
        if self.invite.trim().is_empty() {
            default_invite(kind)
        } else {
            &self.invite
        }
    }
}

/// The shipped invitation for a kind: says what the answer brings, and how to answer.
pub fn default_invite(kind: EventKind) -> &'static str {
    match kind {
        EventKind::BoletoGenerated => {
            "{{ saudacao }}! Seu boleto de {{ product_names }} foi gerado. Responda *1* para receber o link do seu boleto aqui."
        }
        EventKind::PixGenerated => {
            "{{ saudacao }}! Seu PIX de {{ product_names }} está pronto. Responda *1* para receber o código PIX aqui."
        }
        EventKind::CheckoutAbandoned => {
            "{{ saudacao }}! Vi que você não concluiu a compra de {{ product_names }}. Responda *1* para receber o link e finalizar por aqui."
        }
        EventKind::PaymentRefused | EventKind::PaymentOverdue | EventKind::SubscriptionOverdue => {
            "{{ saudacao }}! Temos um aviso sobre o pagamento de {{ product_names }}. Responda *1* para receber os detalhes aqui."
        }
        _ => {
            "{{ saudacao }}! Temos uma novidade sobre {{ product_names }}. Responda *1* para receber os detalhes aqui."
        }
    }
}

/// A message's part in a "pedir resposta" step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "role")]
pub enum ReplyRole {
    /// The invitation; when it goes out, its held parts' timer starts.
    Invite { timeout_min: u32 },
    /// Held back until the buyer answers `invite` or `timeout_min` after it went out.
    Held {
        invite: MessageId,
        timeout_min: u32,
        /// The step's own due time: the 48 h expiry counts from here however long the part
        /// waited, so the rest never goes later than the message would have.
        first_due: i64,
    },
}

impl ReplyRole {
    /// When a part held by an invitation that went out at `sent_at` goes without an answer.
    pub fn timer_due(timeout_min: u32, sent_at: i64) -> i64 {
        sent_at + i64::from(timeout_min) * 60
    }
}

/// Whether an invitation in `status` has yet to go out (its held parts wait for it).
pub fn invite_pending(status: MessageStatus) -> bool {
    matches!(
        status,
        MessageStatus::Scheduled | MessageStatus::Queued | MessageStatus::Sending
    )
}

/// Whether an invitation in `status` reached the buyer, so an answer can be to it.
pub fn invite_out(status: MessageStatus) -> bool {
    matches!(
        status,
        MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read
    )
}

/// Reads the editor's timeout (minutes, 1 to a day); the error is the pt-BR sentence it shows.
pub fn parse_timeout(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_TIMEOUT_MIN).contains(&n) => Ok(n),
        _ => Err(format!(
            "O tempo de espera é um número de minutos de 1 a {MAX_TIMEOUT_MIN}."
        )),
    }
}
