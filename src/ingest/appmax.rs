//! Appmax: reads `{event, event_type, data}` envelopes (current CamelCase and legacy snake_case
//! event names) into drafts. Uses only `common` and `domain`.

use serde_json::Value;

use super::common::{at, body_value, first_text, int, reais, text, timestamp};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Reads one Appmax delivery. The event name is `event`; a body without it is refused.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let name = text(&body, "event").ok_or_else(|| {
        ParseError::UnknownShape("Appmax body without an `event` field (the event name)".into())
    })?;
    let mut draft = Draft::new(name.clone());
    draft.event.kind = kind_of(&camel_case(&name));
    let data = at(&body, "data").unwrap_or(&Value::Null);
    if is_order(data) {
        read_order(data, &mut draft);
    } else {
        read_customer(data, &mut draft);
    }
    Ok(vec![draft])
}

/// Appmax documents no signature or HMAC: the secret webhook URL is the only authentication, so
/// there is nothing to check here.
pub(super) fn verify(_secret: &str, _req: &Request) -> Result<(), SignatureError> {
    Ok(())
}

/// The legacy template spells events in snake_case (`order_billet_created`); the current one in
/// CamelCase (`OrderBilletCreated`). Both become CamelCase.
fn camel_case(name: &str) -> String {
    if !name.contains('_') {
        return name.to_owned();
    }
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Appmax event names (SOURCES.md: documented and seen in practice) onto canonical kinds.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // Sent ~60 minutes after a buyer filled in the checkout without ordering.
    ("CustomerInterested", Some(EventKind::CheckoutAbandoned)),
    ("OrderApproved", Some(EventKind::OrderPaid)),
    ("OrderPaid", Some(EventKind::OrderPaid)),
    ("OrderPaidByPix", Some(EventKind::OrderPaid)),
    // The acquirer authorised the card; Appmax's anti-fraud has not approved it yet.
    ("OrderAuthorized", Some(EventKind::PaymentInReview)),
    ("OrderAuthorizedWithDelay", Some(EventKind::PaymentInReview)),
    ("OrderBilletCreated", Some(EventKind::BoletoGenerated)),
    ("OrderBilletOverdue", Some(EventKind::PaymentOverdue)),
    ("OrderPixCreated", Some(EventKind::PixGenerated)),
    ("OrderPixExpired", Some(EventKind::PaymentExpired)),
    ("PaymentNotAuthorized", Some(EventKind::PaymentRefused)),
    (
        "PaymentNotAuthorizedWithDelay",
        Some(EventKind::PaymentRefused),
    ),
    ("OrderRefund", Some(EventKind::OrderRefunded)),
    ("OrderPartialRefund", Some(EventKind::OrderRefunded)),
    (
        "OrderChargeBackInTreatment",
        Some(EventKind::OrderChargeback),
    ),
    ("CreatedSubscription", Some(EventKind::SubscriptionStarted)),
    // Recurring charges of a subscription: success renews it, failure makes it late.
    ("ChargeSuccess", Some(EventKind::SubscriptionRenewed)),
    ("ChargeFailed", Some(EventKind::SubscriptionOverdue)),
    (
        "SubscriptionDelayedEvent",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "CanceledSubscription",
        Some(EventKind::SubscriptionCanceled),
    ),
    (
        "SubscriptionCancellationEvent",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Back-office steps: nothing to tell the buyer.
    ("CustomerCreated", None),
    ("CustomerContacted", None),
    ("OrderIntegrated", None),
    ("OrderPendingIntegration", None),
    ("OrderUpSold", None),
    ("OrderChargeBackGain", None),
];

fn kind_of(event: &str) -> Option<EventKind> {
    super::common::table_kind(EVENTS, event)
}

/// Order events carry the order in `data`; customer events (CustomerInterested, subscription
/// cancellation) carry the customer there, and `data.id` is then a customer id.
fn is_order(data: &Value) -> bool {
    ["customer_id", "total", "payment_type", "status"]
        .iter()
        .any(|k| at(data, k).is_some())
}

fn read_order(data: &Value, draft: &mut Draft) {
    let e = &mut draft.event;
    e.order_id = text(data, "id");
    e.occurred_at = ["refunded_at", "paid_at", "created_at"]
        .iter()
        .find_map(|path| timestamp(data, path));
    e.total_cents = reais(data, "total").or_else(|| reais(data, "full_payment_amount"));
    let method = text(data, "payment_type").map(|t| match t.to_lowercase().as_str() {
        "creditcard" | "credit_card" => PaymentMethod::CreditCard,
        "boleto" | "billet" => PaymentMethod::Boleto,
        "pix" => PaymentMethod::Pix,
        _ => PaymentMethod::Other,
    });
    let p = &mut e.payment;
    p.method = method;
    p.boleto_url = text(data, "billet_url");
    p.boleto_barcode = text(data, "billet_digitable_line");
    p.pix_code = text(data, "pix_emv");
    // pix_qrcode is an image link when it is a URL; otherwise the page that shows the code.
    p.pix_qr_url = text(data, "pix_qrcode")
        .filter(|q| q.starts_with("http"))
        .or_else(|| text(data, "pix_payment_link"));
    p.due_at = match method {
        Some(PaymentMethod::Pix) => timestamp(data, "pix_expiration_date"),
        _ => timestamp(data, "billet_date_overdue"),
    };
    p.refusal_reason = text(data, "issuer_message");
    p.installments = int(data, "installments").and_then(|n| u32::try_from(n).ok());
    read_products(data, "products", &mut e.products);
    if let Some(Value::Array(bundles)) = at(data, "bundles") {
        for bundle in bundles {
            read_products(bundle, "products", &mut e.products);
        }
    }
    if let Some(customer) = at(data, "customer").filter(|c| c.is_object()) {
        read_customer(customer, draft);
    }
}

/// A customer object: `data` itself for customer events, `data.customer` for orders.
fn read_customer(c: &Value, draft: &mut Draft) {
    let e = &mut draft.event;
    e.customer.name = text(c, "fullname").or_else(|| {
        let parts: Vec<String> = ["firstname", "lastname"]
            .iter()
            .filter_map(|k| text(c, k))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    e.customer.email = text(c, "email");
    e.customer.document = first_text(c, &["document_number", "cpf"]);
    if e.occurred_at.is_none() {
        e.occurred_at = timestamp(c, "created_at");
    }
    if let Some(sub) = at(c, "subscription") {
        e.subscription.id = text(sub, "id");
        e.subscription.plan = text(sub, "bundle.name");
        read_products(sub, "bundle.products", &mut e.products);
    }
    if let Some(Value::Array(bundles)) = at(c, "interested_bundle") {
        for bundle in bundles {
            read_products(bundle, "products", &mut e.products);
        }
    }
    draft.phone(text(c, "telephone"));
}

/// Appmax products: `{id, sku, name, price ("62.00", reais), quantity}`.
fn read_products(parent: &Value, path: &str, out: &mut Vec<Product>) {
    let Some(Value::Array(items)) = at(parent, path) else {
        return;
    };
    for item in items {
        if let Some(name) = text(item, "name") {
            out.push(Product {
                name,
                id: first_text(item, &["sku", "id"]),
                quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                price_cents: reais(item, "price"),
                image_url: text(item, "image"),
            });
        }
    }
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
        recognise(Platform::Appmax, &Request::new(body.as_bytes(), &[], "")).remove(0)
    }

    #[test]
    fn appmax_has_no_signature_so_any_delivery_passes() {
        let req = Request::new(br#"{"event":"OrderPaid"}"#, &[], "");
        assert_eq!(verify("whatever", &req), Ok(()));
    }

    #[test]
    fn appmax_every_documented_event_has_its_kind() {
        use EventKind::*;
        let table: &[(&str, Option<EventKind>)] = &[
            ("CustomerCreated", None),
            ("CustomerInterested", Some(CheckoutAbandoned)),
            ("CustomerContacted", None),
            ("OrderApproved", Some(OrderPaid)),
            ("OrderAuthorized", Some(PaymentInReview)),
            ("OrderAuthorizedWithDelay", Some(PaymentInReview)),
            ("OrderBilletCreated", Some(BoletoGenerated)),
            ("OrderBilletOverdue", Some(PaymentOverdue)),
            ("OrderIntegrated", None),
            ("OrderPaid", Some(OrderPaid)),
            ("OrderPaidByPix", Some(OrderPaid)),
            ("OrderPendingIntegration", None),
            ("OrderRefund", Some(OrderRefunded)),
            ("OrderPartialRefund", Some(OrderRefunded)),
            ("OrderUpSold", None),
            ("OrderPixCreated", Some(PixGenerated)),
            ("OrderPixExpired", Some(PaymentExpired)),
            ("OrderChargeBackInTreatment", Some(OrderChargeback)),
            ("OrderChargeBackGain", None),
            ("PaymentNotAuthorized", Some(PaymentRefused)),
            ("PaymentNotAuthorizedWithDelay", Some(PaymentRefused)),
            ("ChargeFailed", Some(SubscriptionOverdue)),
            ("ChargeSuccess", Some(SubscriptionRenewed)),
            ("CreatedSubscription", Some(SubscriptionStarted)),
            ("CanceledSubscription", Some(SubscriptionCanceled)),
            ("SubscriptionCancellationEvent", Some(SubscriptionCanceled)),
            ("SubscriptionDelayedEvent", Some(SubscriptionOverdue)),
        ];
        for (name, kind) in table {
            assert_eq!(kind_of(name), *kind, "{name}");
        }
    }

    #[test]
    fn appmax_legacy_snake_case_names_map_like_the_current_ones() {
        assert_eq!(
            kind_of(&camel_case("order_billet_created")),
            Some(EventKind::BoletoGenerated)
        );
        assert_eq!(
            kind_of(&camel_case("payment_not_authorized")),
            Some(EventKind::PaymentRefused)
        );
    }

    #[test]
    fn appmax_card_declined_carries_the_issuer_message() {
        let r = read(
            r#"{"event":"PaymentNotAuthorized","data":{"id":9,"total":"97.00",
               "payment_type":"CreditCard","issuer_message":"Saldo insuficiente",
               "customer":{"fullname":"Ana Souza","telephone":"(11) 98765-4321"}}}"#,
        );
        assert_eq!(r.status, Status::Ok);
        let e = r.event.expect("event");
        assert_eq!(e.total_cents, Some(9700));
        assert_eq!(
            e.payment.refusal_reason.as_deref(),
            Some("Saldo insuficiente")
        );
        assert_eq!(e.order_id.as_deref(), Some("9"));
    }

    #[test]
    fn appmax_body_without_event_is_an_unknown_shape() {
        let r = read(r#"{"data":{"id":1}}"#);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::UnknownShape);
    }

    #[test]
    fn appmax_wrong_types_make_facts_absent() {
        let r = read(
            r#"{"event":"OrderPaid","data":{"id":[1],"total":{"v":1},"products":"x",
               "bundles":[{"products":7}],"customer":{"telephone":"11 9abc-0000"}}}"#,
        );
        let e = r.event.clone().expect("event");
        assert_eq!(e.order_id, None);
        assert_eq!(e.total_cents, None);
        assert!(e.products.is_empty());
        assert_eq!(r.reason.expect("reason").code, ReasonCode::BadPhone);
        let r = read(r#"{"event":"OrderPaid","data":"nothing"}"#);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::NoPhone);
    }
}
