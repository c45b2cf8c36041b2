//! stripe: reads Stripe events (`type`, `data.object`, amounts in cents) into events, and checks
//! `Stripe-Signature` with its timestamp tolerance. Uses `ingest::common` and `domain` only.

use serde_json::Value;

use super::catalog::{awaiting_kind, table_choose};
use super::common::{at, body_value, cents, first_text, int, text, timestamp};
use super::signature::{hmac_sha256, same};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod};

/// How far the signed timestamp may be from now: Stripe's own default, five minutes.
const TOLERANCE_SECS: i64 = 300;

/// Reads one event: `type` names it, `data.object` is the resource it is about.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let event = text(&body, "type").ok_or_else(|| {
        ParseError::UnknownShape("a Stripe event names itself in \"type\"".into())
    })?;
    let empty = Value::Null;
    let obj = at(&body, "data.object").unwrap_or(&empty);
    let method = method(obj);
    let mut draft = Draft::new(event.clone());
    draft.event.kind = kind_for(&event, obj, method);
    for path in [
        "customer_details.phone",
        "billing_details.phone",
        "customer_phone",
        "shipping_details.phone",
        "shipping.phone",
        "last_payment_error.payment_method.billing_details.phone",
    ] {
        draft.phone(text(obj, path));
    }
    let e = &mut draft.event;
    e.event_id = text(&body, "id");
    e.occurred_at = timestamp(&body, "created");
    // Refunds and disputes point at the payment they concern, so the order id matches it.
    e.order_id = first_text(obj, &["metadata.order_id", "payment_intent", "id"])
        .filter(|_| event.starts_with("charge."))
        .or_else(|| first_text(obj, &["metadata.order_id", "id"]));
    e.customer.name = first_text(
        obj,
        &[
            "customer_details.name",
            "billing_details.name",
            "customer_name",
            "shipping.name",
        ],
    );
    e.customer.email = first_text(
        obj,
        &[
            "customer_details.email",
            "customer_email",
            "billing_details.email",
            "receipt_email",
        ],
    );
    e.total_cents = if event == "charge.refunded" {
        cents(obj, "amount_refunded")
    } else {
        ["amount_total", "amount", "amount_due", "amount_paid"]
            .iter()
            .find_map(|p| cents(obj, p))
    };
    e.currency = text(obj, "currency").map(|c| c.to_uppercase());
    let p = &mut e.payment;
    p.method = method;
    p.installments = int(obj, "payment_method_details.card.installments.plan.count")
        .and_then(|n| u32::try_from(n).ok());
    p.checkout_url = first_text(obj, &["after_expiration.recovery.url", "url"])
        .filter(|_| e.kind == Some(EventKind::CheckoutAbandoned));
    let boleto = "next_action.boleto_display_details";
    p.boleto_url = text(obj, &format!("{boleto}.hosted_voucher_url"));
    p.boleto_barcode = text(obj, &format!("{boleto}.number"));
    let pix = "next_action.pix_display_qr_code";
    p.pix_code = text(obj, &format!("{pix}.data"));
    p.pix_qr_url = text(obj, &format!("{pix}.image_url_png"));
    p.due_at = timestamp(obj, &format!("{boleto}.expires_at"))
        .or_else(|| timestamp(obj, &format!("{pix}.expires_at")));
    if e.kind == Some(EventKind::PaymentRefused) {
        p.refusal_reason = first_text(
            obj,
            &[
                "last_payment_error.message",
                "last_payment_error.decline_code",
                "failure_message",
            ],
        );
    }
    let s = &mut e.subscription;
    if event.starts_with("customer.subscription.") {
        s.id = text(obj, "id");
        s.status = text(obj, "status");
        s.plan = first_text(
            obj,
            &["plan.nickname", "items.data.0.price.nickname", "plan.id"],
        );
        s.next_charge_at = timestamp(obj, "current_period_end");
    } else if event.starts_with("invoice.") {
        s.id = text(obj, "subscription");
    }
    draft.delivery_id = text(&body, "id");
    Ok(vec![draft])
}

/// `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` with v1 = HMAC-SHA256(secret, "<t>.<body>");
/// any v1 may match (secret rotation), and `t` must be within five minutes of now.
pub(super) fn verify(secret: &str, req: &Request, now_unix: i64) -> Result<(), SignatureError> {
    let header = req
        .header("stripe-signature")
        .ok_or(SignatureError::Missing("Stripe-Signature header"))?;
    let pairs: Vec<(&str, &str)> = header
        .split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let t = pairs
        .iter()
        .find(|(k, _)| *k == "t")
        .map(|(_, v)| *v)
        .ok_or(SignatureError::Malformed("Stripe-Signature header"))?;
    let mut signed = Vec::with_capacity(t.len() + 1 + req.body.len());
    signed.extend_from_slice(t.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(req.body);
    let expected = hmac_sha256(secret.trim().as_bytes(), &signed);
    let candidates: Vec<Vec<u8>> = pairs
        .iter()
        .filter(|(k, _)| *k == "v1")
        .filter_map(|(_, v)| hex::decode(v).ok())
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("Stripe-Signature header"));
    }
    if !candidates.iter().any(|c| same(c, &expected)) {
        return Err(SignatureError::Mismatch);
    }
    let t: i64 = t
        .parse()
        .map_err(|_| SignatureError::Malformed("Stripe-Signature timestamp"))?;
    if (now_unix - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

/// Stripe event `type`s (docs.stripe.com "Types of events"): the ones about a buyer's payment,
/// named where they overlap least. Several kinds for one type are picked by the resource in
/// [`kind_for`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    (
        "checkout.session.expired",
        Some(EventKind::CheckoutAbandoned),
    ),
    // Boleto and PIX sessions complete unpaid: the voucher was issued.
    (
        "checkout.session.completed",
        Some(EventKind::BoletoGenerated),
    ),
    ("checkout.session.completed", Some(EventKind::PixGenerated)),
    ("checkout.session.completed", Some(EventKind::OrderPaid)),
    (
        "checkout.session.completed",
        Some(EventKind::SubscriptionStarted),
    ),
    // Needs the buyer: a voucher to pay (boleto/PIX), or 3-D Secure, which is not a message.
    (
        "payment_intent.requires_action",
        Some(EventKind::BoletoGenerated),
    ),
    (
        "payment_intent.requires_action",
        Some(EventKind::PixGenerated),
    ),
    (
        "payment_intent.payment_failed",
        Some(EventKind::PaymentRefused),
    ),
    // A boleto/PIX that was not paid in time.
    (
        "checkout.session.async_payment_failed",
        Some(EventKind::PaymentExpired),
    ),
    (
        "checkout.session.async_payment_succeeded",
        Some(EventKind::OrderPaid),
    ),
    ("payment_intent.succeeded", Some(EventKind::OrderPaid)),
    // An invoice: the subscription's first charge, a renewal, or a one-off invoice.
    ("invoice.paid", Some(EventKind::OrderPaid)),
    ("invoice.paid", Some(EventKind::SubscriptionStarted)),
    ("invoice.paid", Some(EventKind::SubscriptionRenewed)),
    ("invoice.payment_succeeded", Some(EventKind::OrderPaid)),
    (
        "invoice.payment_succeeded",
        Some(EventKind::SubscriptionStarted),
    ),
    (
        "invoice.payment_succeeded",
        Some(EventKind::SubscriptionRenewed),
    ),
    // The first charge of a subscription refused, or a renewal overdue.
    ("invoice.payment_failed", Some(EventKind::PaymentRefused)),
    (
        "invoice.payment_failed",
        Some(EventKind::SubscriptionOverdue),
    ),
    // Only an active or trialing subscription has started; only past_due/unpaid is overdue.
    (
        "customer.subscription.created",
        Some(EventKind::SubscriptionStarted),
    ),
    (
        "customer.subscription.updated",
        Some(EventKind::SubscriptionOverdue),
    ),
    ("charge.refunded", Some(EventKind::OrderRefunded)),
    ("charge.dispute.created", Some(EventKind::OrderChargeback)),
    (
        "customer.subscription.deleted",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Twins of the events above (a charge and its payment intent fire together), steps the
    // buyer does not act on, and the account's records.
    ("charge.succeeded", None),
    ("charge.failed", None),
    ("charge.pending", None),
    ("charge.captured", None),
    ("charge.dispute.updated", None),
    ("charge.dispute.closed", None),
    ("payment_intent.created", None),
    ("payment_intent.processing", None),
    ("payment_intent.canceled", None),
    ("payment_intent.amount_capturable_updated", None),
    ("invoice.created", None),
    ("invoice.finalized", None),
    ("invoice.upcoming", None),
    ("customer.subscription.trial_will_end", None),
    ("customer.subscription.paused", None),
    ("customer.subscription.resumed", None),
    ("customer.created", None),
    ("customer.updated", None),
];

/// The type's kind from [`EVENTS`], picked or confirmed by the resource.
fn kind_for(event: &str, obj: &Value, method: Option<PaymentMethod>) -> Option<EventKind> {
    use EventKind::*;
    let status = text(obj, "status");
    let billing = text(obj, "billing_reason");
    let kind = table_choose(EVENTS, event, |_| match event {
        "checkout.session.completed" => match (
            text(obj, "payment_status").as_deref(),
            text(obj, "mode").as_deref(),
        ) {
            (Some("paid"), Some("subscription")) => Some(SubscriptionStarted),
            (Some("paid"), _) => Some(OrderPaid),
            (Some("unpaid"), _) => awaiting_kind(method),
            _ => None,
        },
        "invoice.paid" | "invoice.payment_succeeded" => match billing.as_deref() {
            Some("subscription_create") => Some(SubscriptionStarted),
            Some("subscription_cycle" | "subscription_update") => Some(SubscriptionRenewed),
            _ => Some(OrderPaid),
        },
        "invoice.payment_failed" => match billing.as_deref() {
            Some("subscription_create") => Some(PaymentRefused),
            _ => Some(SubscriptionOverdue),
        },
        _ => awaiting_kind(method),
    })?;
    match event {
        "customer.subscription.created" => {
            matches!(status.as_deref(), Some("active" | "trialing")).then_some(kind)
        }
        "customer.subscription.updated" => {
            matches!(status.as_deref(), Some("past_due" | "unpaid")).then_some(kind)
        }
        _ => Some(kind),
    }
}

/// The method of a session, intent or charge; a session offering several is left unknown.
fn method(obj: &Value) -> Option<PaymentMethod> {
    let name = text(obj, "payment_method_details.type")
        .or_else(|| text(obj, "next_action.type").map(|t| t.replace("_display_details", "")))
        .or_else(|| text(obj, "last_payment_error.payment_method.type"))
        .or_else(|| match at(obj, "payment_method_types") {
            Some(Value::Array(types)) if types.len() == 1 => types[0].as_str().map(str::to_owned),
            _ => None,
        })?;
    Some(match name.as_str() {
        "card" => PaymentMethod::CreditCard,
        "boleto" => PaymentMethod::Boleto,
        "pix" | "pix_display_qr_code" => PaymentMethod::Pix,
        _ => PaymentMethod::Other,
    })
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    fn header(t: i64, secrets: &[&str]) -> Vec<(String, String)> {
        let mut value = format!("t={t}");
        for secret in secrets {
            let mut signed = format!("{t}.").into_bytes();
            signed.extend_from_slice(BODY);
            value.push_str(&format!(
                ",v1={}",
                hex::encode(hmac_sha256(secret.as_bytes(), &signed))
            ));
        }
        vec![("Stripe-Signature".to_owned(), value)]
    }

    #[test]
    fn stripe_signature_with_any_matching_v1_is_accepted() {
        let h = header(NOW, &["whsec_old", "whsec_new"]);
        assert_eq!(
            verify("whsec_new", &Request::new(BODY, &h, ""), NOW),
            Ok(())
        );
        assert_eq!(
            verify("whsec_old", &Request::new(BODY, &h, ""), NOW + 299),
            Ok(())
        );
    }

    #[test]
    fn stripe_signature_mismatch_and_missing_are_refused() {
        let h = header(NOW, &["whsec_other"]);
        let wrong = verify("whsec_new", &Request::new(BODY, &h, ""), NOW);
        assert_eq!(wrong, Err(SignatureError::Mismatch));
        let none = verify("whsec_new", &Request::new(BODY, &[], ""), NOW);
        assert!(matches!(none, Err(SignatureError::Missing(_))));
        let bad = vec![("Stripe-Signature".to_owned(), "v1=00".to_owned())];
        let bad = verify("whsec_new", &Request::new(BODY, &bad, ""), NOW);
        assert!(matches!(bad, Err(SignatureError::Malformed(_))));
    }

    #[test]
    fn stripe_signature_older_than_five_minutes_is_refused() {
        let h = header(NOW - 301, &["whsec_new"]);
        let stale = verify("whsec_new", &Request::new(BODY, &h, ""), NOW);
        assert_eq!(stale, Err(SignatureError::Expired));
    }

    #[test]
    fn stripe_event_types_map_to_kinds() {
        use EventKind::*;
        let paid = json!({"payment_status": "paid", "mode": "payment"});
        let boleto = json!({"payment_status": "unpaid", "payment_method_types": ["boleto"],
            "next_action": {"type": "boleto_display_details"}});
        let none = json!({});
        let table = [
            ("checkout.session.completed", &paid, Some(OrderPaid)),
            ("checkout.session.completed", &boleto, Some(BoletoGenerated)),
            (
                "checkout.session.async_payment_succeeded",
                &none,
                Some(OrderPaid),
            ),
            (
                "checkout.session.async_payment_failed",
                &none,
                Some(PaymentExpired),
            ),
            ("checkout.session.expired", &none, Some(CheckoutAbandoned)),
            ("payment_intent.succeeded", &none, Some(OrderPaid)),
            ("payment_intent.payment_failed", &none, Some(PaymentRefused)),
            (
                "payment_intent.requires_action",
                &boleto,
                Some(BoletoGenerated),
            ),
            ("payment_intent.requires_action", &none, None),
            ("charge.refunded", &none, Some(OrderRefunded)),
            ("charge.dispute.created", &none, Some(OrderChargeback)),
            ("charge.succeeded", &none, None),
            (
                "invoice.paid",
                &json!({"billing_reason": "subscription_create"}),
                Some(SubscriptionStarted),
            ),
            (
                "invoice.paid",
                &json!({"billing_reason": "subscription_cycle"}),
                Some(SubscriptionRenewed),
            ),
            (
                "invoice.payment_failed",
                &json!({"billing_reason": "subscription_cycle"}),
                Some(SubscriptionOverdue),
            ),
            (
                "customer.subscription.created",
                &json!({"status": "active"}),
                Some(SubscriptionStarted),
            ),
            (
                "customer.subscription.created",
                &json!({"status": "incomplete"}),
                None,
            ),
            (
                "customer.subscription.updated",
                &json!({"status": "past_due"}),
                Some(SubscriptionOverdue),
            ),
            (
                "customer.subscription.updated",
                &json!({"status": "active"}),
                None,
            ),
            (
                "customer.subscription.deleted",
                &none,
                Some(SubscriptionCanceled),
            ),
            ("customer.created", &none, None),
        ];
        for (event, obj, kind) in table {
            assert_eq!(kind_for(event, obj, method(obj)), kind, "{event} {obj}");
        }
    }

    #[test]
    fn stripe_pix_intent_carries_code_buyer_and_cents() {
        let body = json!({"id": "evt_9", "type": "payment_intent.requires_action", "created": NOW,
            "data": {"object": {"id": "pi_9", "amount": 9700, "currency": "brl",
                "shipping": {"name": "Ana Souza", "phone": "+55 11 98765-4321"},
                "next_action": {"type": "pix_display_qr_code", "pix_display_qr_code":
                    {"data": "000201", "image_url_png": "https://q.png", "expires_at": NOW}}}}})
        .to_string();
        let d = parse(&Request::new(body.as_bytes(), &[], ""))
            .expect("event")
            .remove(0);
        assert_eq!(d.event.kind, Some(EventKind::PixGenerated));
        assert_eq!(d.event.total_cents, Some(9700));
        assert_eq!(d.event.currency.as_deref(), Some("BRL"));
        assert_eq!(d.event.payment.pix_code.as_deref(), Some("000201"));
        assert_eq!(d.delivery_id.as_deref(), Some("evt_9"));
        assert!(d.event.customer.phone.is_some());
    }

    #[test]
    fn stripe_odd_bodies_do_not_panic() {
        let err = parse(&Request::new(br#"{"object": "event"}"#, &[], "")).expect_err("no type");
        assert!(err.to_string().contains("\"type\""));
        let odd = br#"{"type": "charge.refunded", "data": {"object": {"amount_refunded": "x",
            "payment_method_types": 3, "currency": 5}}}"#;
        let d = parse(&Request::new(odd, &[], "")).expect("odd").remove(0);
        assert_eq!(d.event.total_cents, None);
        assert_eq!(d.event.kind, Some(EventKind::OrderRefunded));
    }
}
