//! PayPal webhooks: `{id, event_type, create_time, resource}`; amounts are decimal strings with
//! a `currency_code`. PayPal signs with RSA (SHA256withRSA over
//! `<transmission id>|<time>|<webhook id>|<crc32(body)>`) against a certificate it serves from
//! PAYPAL-CERT-URL: checking it needs that download (or PayPal's verify API), so avisa does not
//! check it offline and the store form says so.

use serde_json::Value;

use super::common::{at, body_value, email, first_text, list, reais, table_kind, text, timestamp};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// PayPal's `event_type` names for orders, captures, disputes and subscriptions
/// (developer.paypal.com "Webhook event names").
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // The buyer approved; the merchant still has to capture: PAYMENT.CAPTURE.COMPLETED is paid.
    ("CHECKOUT.ORDER.APPROVED", None),
    // Sent beside PAYMENT.CAPTURE.COMPLETED for the same money: the capture speaks for it.
    ("CHECKOUT.ORDER.COMPLETED", None),
    ("CHECKOUT.ORDER.VOIDED", None),
    (
        "CHECKOUT.PAYMENT-APPROVAL.REVERSED",
        Some(EventKind::PaymentRefused),
    ),
    ("PAYMENT.AUTHORIZATION.CREATED", None),
    ("PAYMENT.AUTHORIZATION.VOIDED", None),
    ("PAYMENT.CAPTURE.PENDING", Some(EventKind::PaymentInReview)),
    ("PAYMENT.CAPTURE.COMPLETED", Some(EventKind::OrderPaid)),
    ("PAYMENT.CAPTURE.DENIED", Some(EventKind::PaymentRefused)),
    ("PAYMENT.CAPTURE.DECLINED", Some(EventKind::PaymentRefused)),
    ("PAYMENT.CAPTURE.REFUNDED", Some(EventKind::OrderRefunded)),
    ("PAYMENT.CAPTURE.REVERSED", Some(EventKind::OrderChargeback)),
    ("CUSTOMER.DISPUTE.CREATED", Some(EventKind::OrderChargeback)),
    ("CUSTOMER.DISPUTE.UPDATED", None),
    ("CUSTOMER.DISPUTE.RESOLVED", None),
    ("BILLING.SUBSCRIPTION.CREATED", None),
    (
        "BILLING.SUBSCRIPTION.ACTIVATED",
        Some(EventKind::SubscriptionStarted),
    ),
    (
        "BILLING.SUBSCRIPTION.PAYMENT.FAILED",
        Some(EventKind::SubscriptionOverdue),
    ),
    ("BILLING.SUBSCRIPTION.SUSPENDED", None),
    (
        "BILLING.SUBSCRIPTION.CANCELLED",
        Some(EventKind::SubscriptionCanceled),
    ),
    (
        "BILLING.SUBSCRIPTION.EXPIRED",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Every charge of a subscription (the first included) arrives as a completed sale.
    (
        "PAYMENT.SALE.COMPLETED",
        Some(EventKind::SubscriptionRenewed),
    ),
    ("PAYMENT.SALE.REFUNDED", Some(EventKind::OrderRefunded)),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let name = text(&body, "event_type").ok_or_else(|| {
        ParseError::UnknownShape("a PayPal webhook names its event in `event_type`".into())
    })?;
    let r = at(&body, "resource").unwrap_or(&Value::Null);
    let mut draft = Draft::new(name.as_str());
    // The WH-… id is the same on every retry of one notification.
    draft.delivery_id = text(&body, "id");
    let e = &mut draft.event;
    e.kind = table_kind(EVENTS, &name);
    e.event_id = text(&body, "id");
    e.occurred_at = timestamp(&body, "create_time");
    let resource_type = text(&body, "resource_type").unwrap_or_default();
    e.order_id = match resource_type.as_str() {
        "checkout-order" => text(r, "id"),
        "subscription" => text(r, "id"),
        _ => first_text(
            r,
            &[
                "supplementary_data.related_ids.order_id",
                "billing_agreement_id",
                "id",
            ],
        ),
    };
    let unit = list(r, "purchase_units")
        .into_iter()
        .next()
        .unwrap_or(&Value::Null);
    let amount = at(r, "amount")
        .filter(|a| a.is_object() && at(a, "value").is_some())
        .or_else(|| at(unit, "amount"))
        .unwrap_or(&Value::Null);
    e.total_cents = reais(amount, "value").or_else(|| reais(r, "amount.total"));
    e.currency = first_text(amount, &["currency_code", "currency"]);
    for item in list(unit, "items") {
        if let Some(name) = text(item, "name") {
            e.products.push(Product {
                name,
                id: text(item, "sku"),
                quantity: super::common::int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                price_cents: reais(item, "unit_amount.value"),
                image_url: None,
            });
        }
    }
    let payer = at(r, "payer")
        .or_else(|| at(r, "subscriber"))
        .unwrap_or(&Value::Null);
    let given = first_text(payer, &["name.given_name"]);
    let surname = text(payer, "name.surname");
    e.customer.name = match (given, surname) {
        (Some(g), Some(s)) => Some(format!("{g} {s}")),
        (g, s) => g.or(s).or_else(|| text(unit, "shipping.name.full_name")),
    };
    e.customer.email = email(payer, "email_address");
    e.payment.method = Some(if at(r, "payment_source.card").is_some() {
        PaymentMethod::CreditCard
    } else {
        PaymentMethod::Other
    });
    e.subscription.id = (resource_type == "subscription")
        .then(|| text(r, "id"))
        .flatten();
    e.subscription.status = (resource_type == "subscription")
        .then(|| text(r, "status"))
        .flatten();
    let phone = at(payer, "phone.phone_number.national_number")
        .and_then(|_| text(payer, "phone.phone_number.national_number"));
    let country = text(payer, "address.country_code");
    match country.as_deref() {
        // A Brazilian national number has no country code; elsewhere avisa needs one it lacks.
        Some("BR") | None => draft.phone(phone),
        Some(_) => draft.phone(phone.map(|p| format!("+{p}"))),
    }
    Ok(vec![draft])
}

/// Not checked: PayPal's RSA signature needs its certificate downloaded from PAYPAL-CERT-URL
/// (or a call to PayPal's verify API), and `ingest` does no I/O. The store offers no secret.
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
    fn every_documented_event_type_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            let body = format!(r#"{{"id":"WH-1","event_type":"{name}","resource":{{}}}}"#);
            let readings = recognise(Platform::Paypal, &Request::new(body.as_bytes(), &[], ""));
            assert_eq!(
                readings[0].event.as_ref().expect("event").kind,
                *kind,
                "{name}"
            );
        }
    }

    #[test]
    fn a_capture_is_named_by_its_order() {
        let body = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource_type":"capture","resource":{"id":"CAP","amount":{"value":"21.12","currency_code":"USD"},"supplementary_data":{"related_ids":{"order_id":"ORD"}}}}"#;
        let readings = recognise(Platform::Paypal, &Request::new(body, &[], ""));
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(event.order_id.as_deref(), Some("ORD"));
        assert_eq!(
            (event.total_cents, event.currency.as_deref()),
            (Some(2112), Some("USD"))
        );
    }
}
