//! Hubla webhooks, `x-hubla-token` header. Version 1 (`{type, version: "1.0.0", event}` with a
//! flat sale, amounts in reais) is read field by field from a real delivery; version 2
//! (`invoice.*`, `subscription.*`, amounts in cents) is read from the documented names only: no
//! complete v2 body was published, so its paths are a best reading and say so.

use serde_json::Value;

use super::common::{at, body_value, cents, email, first_text, reais, table_kind, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Hubla's `type` names: v1 (CamelCase) and v2 (dotted, hubla.gitbook.io "Eventos v2").
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("AbandonedCart", Some(EventKind::CheckoutAbandoned)),
    ("NewSale", Some(EventKind::OrderPaid)),
    ("Renewal", Some(EventKind::SubscriptionRenewed)),
    ("Canceled", Some(EventKind::SubscriptionCanceled)),
    // The membership lapsed for want of payment.
    ("Expired", Some(EventKind::SubscriptionOverdue)),
    ("Refund", Some(EventKind::OrderRefunded)),
    ("ChargedBack", Some(EventKind::OrderChargeback)),
    ("NewUser", None),
    (
        "lead.abandoned_checkout",
        Some(EventKind::CheckoutAbandoned),
    ),
    ("invoice.created", None),
    ("invoice.status_updated", None),
    ("invoice.payment_succeeded", Some(EventKind::OrderPaid)),
    ("invoice.payment_failed", Some(EventKind::PaymentRefused)),
    ("invoice.expired", Some(EventKind::PaymentExpired)),
    ("invoice.refunded", Some(EventKind::OrderRefunded)),
    ("subscription.created", None),
    (
        "subscription.activated",
        Some(EventKind::SubscriptionStarted),
    ),
    (
        "subscription.deactivated",
        Some(EventKind::SubscriptionCanceled),
    ),
    ("subscription.expiring", None),
    ("subscription.renewal_enabled", None),
    ("subscription.renewal_disabled", None),
    ("customer.member_added", Some(EventKind::AccessGranted)),
    ("customer.member_removed", None),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let name = text(&body, "type").ok_or_else(|| {
        ParseError::UnknownShape("a Hubla webhook names its event in `type`".into())
    })?;
    let event = at(&body, "event").unwrap_or(&Value::Null);
    let mut draft = Draft::new(name.as_str());
    // Hubla repeats the same idempotency key on every retry of one delivery.
    draft.delivery_id = req.header("x-hubla-idempotency").map(str::to_owned);
    draft.event.kind = table_kind(EVENTS, &name);
    if name.contains('.') {
        read_v2(&mut draft, event);
    } else {
        read_v1(&mut draft, event);
    }
    Ok(vec![draft])
}

fn read_v1(draft: &mut Draft, ev: &Value) {
    let e = &mut draft.event;
    e.order_id = text(ev, "transactionId");
    e.occurred_at = timestamp(ev, "paidAt").or_else(|| timestamp(ev, "createdAt"));
    e.customer.name = text(ev, "userName");
    e.customer.email = email(ev, "userEmail");
    e.customer.document = text(ev, "userDocument");
    if let Some(name) = text(ev, "groupName") {
        e.products.push(Product {
            name,
            id: text(ev, "groupId"),
            quantity: Some(1),
            price_cents: reais(ev, "totalAmount"),
            image_url: None,
        });
    }
    e.total_cents = reais(ev, "totalAmount");
    e.currency = Some("BRL".into());
    e.payment.method = text(ev, "paymentMethod").map(|m| method_of(&m));
    e.utm.source = text(ev, "utmSource");
    e.utm.medium = text(ev, "utmMedium");
    e.utm.campaign = text(ev, "utmCampaign");
    e.utm.content = text(ev, "utmContent");
    e.utm.term = text(ev, "utmTerm");
    draft.phone(text(ev, "userPhone"));
}

/// v2: `event.user`, `event.invoice` / `event.subscription`, `event.product`, amounts in cents.
fn read_v2(draft: &mut Draft, ev: &Value) {
    let e = &mut draft.event;
    let invoice = at(ev, "invoice").unwrap_or(&Value::Null);
    let user = at(ev, "user")
        .or_else(|| at(invoice, "payer"))
        .unwrap_or(&Value::Null);
    e.order_id = first_text(invoice, &["id"]).or_else(|| text(ev, "subscription.id"));
    e.occurred_at = timestamp(invoice, "updatedAt").or_else(|| timestamp(invoice, "createdAt"));
    let first = text(user, "firstName");
    let last = text(user, "lastName");
    e.customer.name = match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l).or_else(|| text(user, "name")),
    };
    e.customer.email = email(user, "email");
    e.customer.document = text(user, "document");
    if let Some(name) = text(ev, "product.name") {
        e.products.push(Product {
            name,
            id: text(ev, "product.id"),
            quantity: Some(1),
            price_cents: None,
            image_url: None,
        });
    }
    e.total_cents = cents(invoice, "amount.totalCents").or_else(|| cents(invoice, "totalCents"));
    e.currency = Some("BRL".into());
    e.payment.method = text(invoice, "paymentMethod").map(|m| method_of(&m));
    e.subscription.id = text(ev, "subscription.id");
    e.subscription.status = text(ev, "subscription.status");
    draft.phone(text(user, "phone"));
}

fn method_of(raw: &str) -> PaymentMethod {
    match raw.to_ascii_lowercase().as_str() {
        "credit_card" | "creditcard" | "card" => PaymentMethod::CreditCard,
        "pix" => PaymentMethod::Pix,
        "bank_slip" | "boleto" | "billet" => PaymentMethod::Boleto,
        _ => PaymentMethod::Other,
    }
}

/// `x-hubla-token` carries the token shown in Hubla's webhook settings.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    check_token(req.header("x-hubla-token"), secret, "x-hubla-token header")
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
    fn every_documented_type_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            let body = format!(r#"{{"type":"{name}","event":{{}}}}"#);
            let readings = recognise(Platform::Hubla, &Request::new(body.as_bytes(), &[], ""));
            assert_eq!(
                readings[0].event.as_ref().expect("event").kind,
                *kind,
                "{name}"
            );
        }
    }

    #[test]
    fn the_idempotency_header_is_the_dedup_key_across_retries() {
        let body =
            br#"{"type":"NewSale","event":{"transactionId":"t1","userPhone":"+5511999999999"}}"#;
        let key = |id: &str, at: &str| {
            let headers = vec![("x-hubla-idempotency".to_owned(), id.to_owned())];
            let _ = at;
            recognise(Platform::Hubla, &Request::new(body, &headers, ""))[0]
                .event
                .clone()
                .expect("event")
                .dedup_key
        };
        assert_eq!(key("d1", "first"), key("d1", "retry"));
        assert_ne!(key("d1", "first"), key("d2", "other delivery"));
    }

    #[test]
    fn the_token_header_must_match() {
        let headers = vec![("x-hubla-token".to_owned(), "h1".to_owned())];
        assert_eq!(verify("h1", &Request::new(b"{}", &headers, "")), Ok(()));
        assert_eq!(
            verify("h2", &Request::new(b"{}", &headers, "")),
            Err(SignatureError::Mismatch)
        );
    }
}
