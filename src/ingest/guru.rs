//! Digital Manager Guru: reads transaction and subscription webhooks into drafts; checks the
//! static body `api_token`. Uses only `common` and `domain`.

use serde_json::Value;

use super::catalog::{awaiting_kind, table_choose};
use super::common::{at, body_value, first_text, int, reais, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Reads one Guru delivery: `webhook_type` says transaction or subscription, the state is
/// `status` (transactions) or `last_status` (subscriptions).
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let is_subscription = text(&body, "webhook_type").as_deref() == Some("subscription");
    let status = if is_subscription {
        first_text(&body, &["last_status", "status"])
    } else {
        text(&body, "status")
    }
    .ok_or_else(|| {
        ParseError::UnknownShape("Guru body without a `status`/`last_status` field".into())
    })?;
    let mut draft = Draft::new(status.clone());
    if is_subscription {
        draft.event.kind = subscription_kind(&status, int(&body, "charged_times"));
        read_subscription(&body, &mut draft);
        if draft.event.kind == Some(EventKind::SubscriptionCanceled) {
            // Guru keeps the cycle date on a canceled subscription; no charge will come.
            draft.event.subscription.next_charge_at = None;
        }
    } else {
        read_transaction(&body, &mut draft);
        let method = draft.event.payment.method;
        let confirmed = at(&body, "dates.confirmed_at").is_some();
        draft.event.kind = transaction_kind(&status, method, confirmed);
        if draft.event.kind == Some(EventKind::PaymentRefused) {
            draft.event.payment.refusal_reason = text(&body, "payment.refuse_reason");
        }
    }
    Ok(vec![draft])
}

/// Guru sends no signature: the body carries the account's `api_token`.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let body = body_value(req).map_err(|_| SignatureError::Missing("api_token"))?;
    check_token(text(&body, "api_token").as_deref(), secret, "api_token")
}

/// Guru transaction statuses onto canonical kinds; `waiting_payment` and `canceled` are picked
/// in [`transaction_kind`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("abandoned", Some(EventKind::CheckoutAbandoned)),
    ("approved", Some(EventKind::OrderPaid)),
    ("completed", Some(EventKind::OrderCompleted)),
    ("billet_printed", Some(EventKind::BoletoGenerated)),
    // Boleto or PIX out, or a card in analysis, by the method.
    ("waiting_payment", Some(EventKind::BoletoGenerated)),
    ("waiting_payment", Some(EventKind::PixGenerated)),
    ("waiting_payment", Some(EventKind::PaymentInReview)),
    ("in_analysis", Some(EventKind::PaymentInReview)),
    ("rejected", Some(EventKind::PaymentRefused)),
    ("refused", Some(EventKind::PaymentRefused)),
    // A declined card is reported as canceled (see [`transaction_kind`]).
    ("canceled", Some(EventKind::OrderCanceled)),
    ("canceled", Some(EventKind::PaymentRefused)),
    ("delayed", Some(EventKind::PaymentOverdue)),
    ("expired", Some(EventKind::PaymentExpired)),
    ("refunded", Some(EventKind::OrderRefunded)),
    ("chargeback", Some(EventKind::OrderChargeback)),
    ("dispute", Some(EventKind::OrderChargeback)),
    // Internal or not-yet-final states.
    ("started", None),
    ("scheduled", None),
    ("in_recovery", None),
    ("trial", None),
    ("blocked", None),
    ("requested_refund", None),
    ("pending_refund", None),
];

fn transaction_kind(
    status: &str,
    method: Option<PaymentMethod>,
    confirmed: bool,
) -> Option<EventKind> {
    table_choose(EVENTS, status, |kinds| {
        if kinds.contains(&EventKind::OrderCanceled) {
            // Guru reports a declined card as `canceled` (with refuse_reason): a card sale that
            // was never confirmed is a refusal; anything else is an order canceled.
            Some(if !confirmed && method == Some(PaymentMethod::CreditCard) {
                EventKind::PaymentRefused
            } else {
                EventKind::OrderCanceled
            })
        } else {
            awaiting_kind(method)
        }
    })
}

/// Guru subscription statuses onto canonical kinds; `active` is a start on the first charge and
/// a renewal after it.
fn subscription_kind(status: &str, charged_times: Option<i64>) -> Option<EventKind> {
    Some(match status {
        "active" if charged_times.unwrap_or(1) <= 1 => EventKind::SubscriptionStarted,
        "active" => EventKind::SubscriptionRenewed,
        "pastdue" | "past_due" | "delayed" => EventKind::SubscriptionOverdue,
        "canceled" | "cancelled" => EventKind::SubscriptionCanceled,
        // started (awaiting the first payment), trial, inactive, expired: no message.
        _ => return None,
    })
}

fn method_of(raw: &str) -> PaymentMethod {
    match raw {
        "credit_card" => PaymentMethod::CreditCard,
        "billet" | "boleto" | "bank_slip" => PaymentMethod::Boleto,
        "pix" => PaymentMethod::Pix,
        _ => PaymentMethod::Other,
    }
}

/// A transaction body (also the `last_transaction` of a subscription body).
fn read_transaction(t: &Value, draft: &mut Draft) {
    let e = &mut draft.event;
    e.order_id = text(t, "id");
    e.occurred_at = timestamp(t, "dates.updated_at").or_else(|| timestamp(t, "dates.created_at"));
    e.customer.name = text(t, "contact.name");
    e.customer.email = text(t, "contact.email");
    e.customer.document = text(t, "contact.doc");
    e.total_cents = reais(t, "payment.total");
    e.currency = text(t, "payment.currency");
    match at(t, "items") {
        Some(Value::Array(items)) if !items.is_empty() => {
            e.products.extend(items.iter().filter_map(product))
        }
        _ => e.products.extend(at(t, "product").and_then(product)),
    }
    let p = &mut e.payment;
    p.method = text(t, "payment.method").map(|m| method_of(&m));
    p.boleto_url = first_text(t, &["payment.billet.url", "payment.billet_url"]);
    p.boleto_barcode = first_text(
        t,
        &[
            "payment.billet.line",
            "payment.billet.digitable_line",
            "payment.billet.barcode",
        ],
    );
    p.pix_code = first_text(
        t,
        &[
            "payment.pix.qrcode.signature",
            "payment.pix.code",
            "payment.pix.qrcode",
        ],
    );
    p.pix_qr_url = first_text(t, &["payment.pix.qrcode.url", "payment.pix.url"]);
    p.due_at = timestamp(t, "payment.billet.expiration_date")
        .or_else(|| timestamp(t, "payment.pix.expiration_date"));
    p.checkout_url = text(t, "checkout_url");
    p.installments = int(t, "payment.installments.qty").and_then(|n| u32::try_from(n).ok());
    e.shipping.tracking_code = text(t, "shipment.tracking");
    e.shipping.carrier = text(t, "shipment.carrier");
    e.subscription.id = first_text(t, &["subscription.subscription_code", "subscription.id"]);
    e.subscription.plan = text(t, "subscription.name");
    e.subscription.status = text(t, "subscription.last_status");
    let u = &mut e.utm;
    u.source = text(t, "source.utm_source");
    u.medium = text(t, "source.utm_medium");
    u.campaign = text(t, "source.utm_campaign");
    u.content = text(t, "source.utm_content");
    u.term = text(t, "source.utm_term");
    // phone_local_code is the country calling code ("55"), despite its name.
    draft.phone_parts(
        text(t, "contact.phone_local_code"),
        None,
        text(t, "contact.phone_number"),
    );
}

/// A subscription body: the subscriber, the plan, and the last transaction for order facts.
fn read_subscription(s: &Value, draft: &mut Draft) {
    draft.phone_parts(
        text(s, "subscriber.phone_local_code"),
        None,
        text(s, "subscriber.phone_number"),
    );
    if let Some(last) = at(s, "last_transaction").filter(|t| t.is_object()) {
        read_transaction(last, draft);
    }
    let e = &mut draft.event;
    e.customer.name = text(s, "subscriber.name").or(e.customer.name.take());
    e.customer.email = text(s, "subscriber.email").or(e.customer.email.take());
    e.customer.document = text(s, "subscriber.doc").or(e.customer.document.take());
    e.occurred_at = timestamp(s, "dates.last_status_at").or(e.occurred_at.take());
    if e.products.is_empty() {
        e.products.extend(at(s, "product").and_then(product));
    }
    let sub = &mut e.subscription;
    sub.id = first_text(s, &["subscription_code", "id"]);
    sub.plan = first_text(s, &["product.offer.name", "name"]);
    sub.status = text(s, "last_status");
    sub.next_charge_at = timestamp(s, "dates.next_cycle_at");
    if e.total_cents.is_none() {
        e.total_cents = reais(s, "current_invoice.value");
    }
    if e.payment.method.is_none() {
        e.payment.method = text(s, "payment_method").map(|m| method_of(&m));
    }
}

/// A Guru item or product: `{id, name, qty, unit_value (reais)}`.
fn product(item: &Value) -> Option<Product> {
    Some(Product {
        name: text(item, "name")?,
        id: text(item, "id"),
        quantity: int(item, "qty").and_then(|q| u32::try_from(q).ok()),
        price_cents: reais(item, "unit_value").or_else(|| reais(item, "offer.value")),
        image_url: text(item, "image_url"),
    })
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{ReasonCode, Status, recognise};

    fn read(body: &str) -> crate::ingest::Reading {
        recognise(Platform::Guru, &Request::new(body.as_bytes(), &[], "")).remove(0)
    }

    #[test]
    fn guru_api_token_must_match_the_store_secret() {
        let req = Request::new(br#"{"status":"approved","api_token":"tok"}"#, &[], "");
        assert_eq!(verify("tok", &req), Ok(()));
        assert_eq!(verify("nope", &req), Err(SignatureError::Mismatch));
        let none = Request::new(br#"{"status":"approved"}"#, &[], "");
        assert_eq!(
            verify("tok", &none),
            Err(SignatureError::Missing("api_token"))
        );
    }

    #[test]
    fn guru_every_transaction_status_has_its_kind() {
        use EventKind::*;
        let card = Some(PaymentMethod::CreditCard);
        let table: &[(&str, Option<EventKind>)] = &[
            ("abandoned", Some(CheckoutAbandoned)),
            ("approved", Some(OrderPaid)),
            ("completed", Some(OrderCompleted)),
            ("billet_printed", Some(BoletoGenerated)),
            ("waiting_payment", Some(PaymentInReview)),
            ("in_analysis", Some(PaymentInReview)),
            ("rejected", Some(PaymentRefused)),
            ("canceled", Some(PaymentRefused)),
            ("delayed", Some(PaymentOverdue)),
            ("expired", Some(PaymentExpired)),
            ("refunded", Some(OrderRefunded)),
            ("chargeback", Some(OrderChargeback)),
            ("dispute", Some(OrderChargeback)),
            ("started", None),
            ("scheduled", None),
            ("in_recovery", None),
            ("trial", None),
            ("requested_refund", None),
        ];
        for (status, kind) in table {
            assert_eq!(transaction_kind(status, card, false), *kind, "{status}");
        }
        assert_eq!(
            transaction_kind("canceled", card, true),
            Some(OrderCanceled)
        );
        let pix = Some(PaymentMethod::Pix);
        assert_eq!(
            transaction_kind("waiting_payment", pix, false),
            Some(PixGenerated)
        );
    }

    #[test]
    fn guru_every_subscription_status_has_its_kind() {
        use EventKind::*;
        assert_eq!(
            subscription_kind("active", Some(1)),
            Some(SubscriptionStarted)
        );
        assert_eq!(
            subscription_kind("active", Some(3)),
            Some(SubscriptionRenewed)
        );
        assert_eq!(
            subscription_kind("pastdue", None),
            Some(SubscriptionOverdue)
        );
        assert_eq!(
            subscription_kind("canceled", None),
            Some(SubscriptionCanceled)
        );
        for status in ["started", "trial", "inactive", "expired"] {
            assert_eq!(subscription_kind(status, None), None, "{status}");
        }
    }

    #[test]
    fn guru_body_without_status_is_an_unknown_shape() {
        let r = read(r#"{"webhook_type":"transaction","id":"x"}"#);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::UnknownShape);
    }

    #[test]
    fn guru_wrong_types_make_facts_absent() {
        let r = read(
            r#"{"webhook_type":"subscription","last_status":"canceled","last_transaction":[],
               "subscriber":{"phone_local_code":"55","phone_number":"11 98x76"},
               "product":"x","dates":7}"#,
        );
        assert_eq!(r.status, Status::Invalid);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::BadPhone);
        let e = r.event.expect("event");
        assert_eq!(e.kind, Some(EventKind::SubscriptionCanceled));
        assert!(e.products.is_empty());
        assert_eq!(e.order_id, None);
    }
}
