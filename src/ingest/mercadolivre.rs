//! Mercado Livre notifications: `{_id, resource, user_id, topic, application_id, attempts,
//! sent, received}`. Thin: the order's state and buyer come only from GET {resource} with the
//! seller's access token, so read from the body alone every topic is unmapped. Mercado Livre
//! signs nothing and wants an answer within 500 ms: avisa's webhook answers as soon as the
//! notification is stored, before any call to Mercado Livre's API (`ingest::enrich`).
//!
//! The order (`read_order`) gives its state, total and the buyer's name; not the buyer's phone
//! nor e-mail: Mercado Livre has withheld buyers' contact data from sellers for years (the
//! order's `buyer` is id, nickname, first and last name; a shipment's `receiver_phone` is filled
//! only for custom shipping). An older order that still carries `buyer.phone` is read.

use serde_json::Value;

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

/// An order's `status` (GET /orders/{id}, developers.mercadolivre.com.br "Gestão de vendas")
/// and the kind it gives a notification. Awaiting payment has no kind: the order carries no
/// boleto line nor PIX code to remind the buyer of, and Mercado Livre reminds them itself.
pub(super) const ORDER_STATUSES: &[(&str, Option<EventKind>)] = &[
    ("confirmed", None),
    ("payment_required", None),
    ("payment_in_process", None),
    ("partially_paid", None),
    ("paid", Some(EventKind::OrderPaid)),
    ("partially_refunded", None),
    ("pending_cancel", None),
    ("cancelled", Some(EventKind::OrderCanceled)),
    ("invalid", None),
];

/// Reads an order resource (GET /orders/{id}) as a draft: state, total, buyer's name (and phone
/// and e-mail where an older order still has them). `Err` when the body is not an order.
pub(super) fn read_order(order: &Value) -> Result<Draft, String> {
    let id = text(order, "id").ok_or("the answer is not a Mercado Livre order (no id)")?;
    let status = text(order, "status").ok_or("the answer is not a Mercado Livre order")?;
    let mut draft = Draft::new(format!("order {status}"));
    draft.phone_parts(
        Some("55".into()),
        text(order, "buyer.phone.area_code"),
        text(order, "buyer.phone.number"),
    );
    let e = &mut draft.event;
    e.kind = ORDER_STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .and_then(|(_, k)| *k);
    e.order_id = Some(id);
    e.total_cents = super::common::reais(order, "total_amount");
    e.currency = text(order, "currency_id");
    e.occurred_at = timestamp(order, "date_closed").or_else(|| timestamp(order, "date_created"));
    let name = [
        text(order, "buyer.first_name"),
        text(order, "buyer.last_name"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    e.customer.name = Some(name).filter(|n| !n.is_empty());
    e.customer.first_name = text(order, "buyer.first_name");
    e.customer.email = text(order, "buyer.email");
    Ok(draft)
}

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
