//! LGPD erasure ("Apagar dados do comprador"): what of a buyer's records is kept once they asked
//! to be forgotten. Pure rules over the records; `db::forget` applies them in one transaction.
//!
//! A message keeps what the reports count (store, kind, step, status, times, instance) and loses
//! everything that names the buyer: phone, name, text, order id, free-text reasons. Its phone
//! becomes a pseudonym (`apagado:N`, one N per erasure) so the per-buyer report figures still
//! count the buyer's messages as one buyer without saying who. An event keeps its place in the
//! list and the counts (store, platform, kind, status, when) and loses its reading and body.

use super::event::Event;
use super::message::Message;
use super::reason::Reason;

/// The prefix of an erased buyer's pseudonym, where a message had the E.164 phone.
pub const ERASED_PREFIX: &str = "apagado:";

/// Report keys hold a buyer as the number of their phone digits; an erased buyer's pseudonym
/// `apagado:N` counts as `ERASED_BASE + N`, above every E.164 number (at most 15 digits).
pub const ERASED_BASE: u64 = 10_000_000_000_000_000;

/// The pseudonym of the `n`th erasure.
pub fn pseudonym(n: u64) -> String {
    format!("{ERASED_PREFIX}{n}")
}

/// Whether a buyer address is an erased buyer's pseudonym.
pub fn is_pseudonym(address: &str) -> bool {
    address.starts_with(ERASED_PREFIX)
}

/// The report number of a pseudonym (`None` for anything else).
pub fn pseudonym_number(address: &str) -> Option<u64> {
    let n: u64 = address.strip_prefix(ERASED_PREFIX)?.parse().ok()?;
    ERASED_BASE.checked_add(n)
}

/// Strips a message of the buyer: the caller has already canceled it if it was pending.
pub fn erase_message(message: &mut Message, pseudonym: &str) {
    message.phone = pseudonym.to_owned();
    message.buyer_name = None;
    message.order_id = None;
    message.text = String::new();
    for change in &mut message.history {
        // A bare reason code says why, never who; anything else (a channel's error, a detail
        // after the code) may quote the buyer and becomes "buyer erased". Both count the same
        // in the reports (`report::cancel_counter`), so the counters do not move.
        if let Some(reason) = &mut change.reason
            && Reason::from_code(reason).is_none()
        {
            *reason = Reason::BuyerErased.code().to_owned();
        }
    }
}

/// What an erased event keeps of its reading: where it came from and what kind it was.
pub fn erase_event(event: &Event) -> Event {
    Event {
        platform: event.platform.clone(),
        kind: event.kind,
        platform_event: event.platform_event.clone(),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventId, EventKind, MessageId, MessageStatus, StatusChange, StoreId};

    #[test]
    fn an_erased_message_keeps_what_reports_count_and_nothing_that_names_the_buyer() {
        let mut m = Message {
            id: MessageId(7),
            store_id: StoreId(1),
            event_id: EventId(3),
            kind: EventKind::BoletoGenerated,
            step: 1,
            part: 0,
            order_id: Some("HP123".into()),
            phone: "+5511987654321".into(),
            buyer_name: Some("Ana Souza".into()),
            product_key: "Curso".into(),
            text: "Oi, Ana!".into(),
            due_at: 100,
            status: MessageStatus::Failed,
            history: vec![
                StatusChange {
                    at: 50,
                    status: MessageStatus::Canceled,
                    reason: Some("order_closed".into()),
                },
                StatusChange {
                    at: 60,
                    status: MessageStatus::Failed,
                    reason: Some("5511987654321@s.whatsapp.net is not on WhatsApp".into()),
                },
            ],
            test: false,
            created_at: 40,
            attempts: 1,
            maybe_sent: false,
            wire_id: None,
            awaiting_reply: false,
            reply_role: None,
            instance_id: None,
        };
        erase_message(&mut m, &pseudonym(4));
        assert_eq!(m.phone, "apagado:4");
        assert_eq!(
            (m.buyer_name, m.order_id, m.text.as_str()),
            (None, None, "")
        );
        let reasons: Vec<_> = m.history.iter().map(|c| c.reason.clone()).collect();
        assert_eq!(
            reasons,
            [
                Some("order_closed".to_owned()),
                Some("buyer_erased".to_owned())
            ]
        );
        assert_eq!(
            (m.status, m.due_at, m.step),
            (MessageStatus::Failed, 100, 1)
        );
        assert_eq!(pseudonym_number("apagado:4"), Some(ERASED_BASE + 4));
        assert_eq!(pseudonym_number("+5511987654321"), None);
        const {
            assert!(
                ERASED_BASE > 999_999_999_999_999,
                "above every E.164 number"
            )
        };
    }
}
