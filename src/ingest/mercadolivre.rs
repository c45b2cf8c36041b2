//! Mercado Livre notifications: `{_id, resource, user_id, topic, application_id, attempts,
//! sent, received}`. Thin: the order's state and buyer come only from GET {resource} with the
//! seller's access token, so read from the body alone every topic is unmapped. Mercado Livre
//! signs nothing and wants an answer within 500 ms.

use super::common::{body_value, text, timestamp};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::EventKind;

/// Notification topics (developers.mercadolivre.com.br "Notificações"); none says what
/// happened, so none has a kind.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("orders_v2", None),
    ("orders_feedback", None),
    ("payments", None),
    ("shipments", None),
    ("messages", None),
    ("questions", None),
    ("items", None),
    ("claims", None),
    ("invoices", None),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let topic = text(&body, "topic").ok_or_else(|| {
        ParseError::UnknownShape("a Mercado Livre notification names its `topic`".into())
    })?;
    let resource = text(&body, "resource").unwrap_or_default();
    let mut draft = Draft::new(topic.as_str());
    let e = &mut draft.event;
    e.kind = EVENTS
        .iter()
        .find(|(n, _)| *n == topic)
        .and_then(|(_, k)| *k);
    e.event_id = text(&body, "_id");
    e.occurred_at = timestamp(&body, "sent");
    if let Some(id) = resource.strip_prefix("/orders/") {
        e.order_id = Some(id.trim_matches('/').to_owned()).filter(|i| !i.is_empty());
    }
    // Retries of one notification keep its `_id`.
    draft.delivery_id = text(&body, "_id");
    Ok(vec![draft])
}

/// Nothing to check: Mercado Livre's notifications carry no signature.
pub(super) fn verify(_secret: &str, _req: &Request) -> Result<(), SignatureError> {
    Ok(())
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::recognise;

    #[test]
    fn every_topic_is_unmapped_and_an_order_resource_names_the_order() {
        for (topic, kind) in EVENTS {
            let body = format!(r#"{{"_id":"n1","topic":"{topic}","resource":"/orders/77"}}"#);
            let readings = recognise(
                Platform::Mercadolivre,
                &Request::new(body.as_bytes(), &[], ""),
            );
            let event = readings[0].event.as_ref().expect("event");
            assert_eq!(event.kind, *kind, "{topic}");
            assert_eq!(event.order_id.as_deref(), Some("77"));
        }
    }
}
