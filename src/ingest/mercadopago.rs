//! mercadopago: reads Mercado Pago notifications (thin: `type`/`topic`, `action`, `data.id`) and
//! the payment resource fetched after them into events, and checks `x-signature`.
//! Uses `ingest::common` and `domain` only.

use serde_json::Value;

use super::catalog::{awaiting_kind, table_choose};
use super::common::{at, body_value, first_text, int, reais, table_kind, text, timestamp};
use super::signature::{check_hex, hmac_sha256};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// How far a signature's timestamp may be from now: five minutes, like Stripe's default.
const TOLERANCE_SECS: i64 = 300;

/// Reads one delivery: a payment resource by its status, or a notification by its topic.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    if at(&body, "status").is_some() && at(&body, "payment_type_id").is_some() {
        return Ok(vec![read_payment(&body)]);
    }
    let topic = first_text(&body, &["type", "topic"])
        .or_else(|| req.query_param("type"))
        .or_else(|| req.query_param("topic"));
    let action = text(&body, "action");
    // `action` is precise where it is dotted (payment.created, card.updated); "Created" is not.
    let name = match (&action, &topic) {
        (Some(a), _) if a.contains('.') => a.clone(),
        (_, Some(t)) => t.clone(),
        _ => {
            return Err(ParseError::UnknownShape(
                "a Mercado Pago notification names its topic in \"type\" or \"topic\"".into(),
            ));
        }
    };
    let topic = topic.unwrap_or_default();
    let mut draft = Draft::new(name);
    draft.event.kind = topic_kind(&topic);
    // The IPN form names the resource by URL (`…/payments/123`) or by `?id=`.
    let resource_id = text(&body, "resource")
        .and_then(|r| r.rsplit('/').next().map(str::to_owned))
        .filter(|id| !id.is_empty())
        .or_else(|| req.query_param("id"));
    let e = &mut draft.event;
    e.order_id = text(&body, "data.payment_id").or_else(|| match topic.as_str() {
        "payment" | "topic_chargebacks_wh" | "chargebacks" => {
            text(&body, "data.id").or(resource_id)
        }
        _ => None,
    });
    e.event_id = text(&body, "id");
    e.occurred_at = timestamp(&body, "date_created");
    draft.delivery_id = text(&body, "id");
    Ok(vec![draft])
}

/// `x-signature: ts=<unix>,v1=<hex>` where v1 = HMAC-SHA256(secret,
/// `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`); parts whose value is absent are left out.
pub(super) fn verify(secret: &str, req: &Request, now_unix: i64) -> Result<(), SignatureError> {
    let header = req
        .header("x-signature")
        .ok_or(SignatureError::Missing("x-signature header"))?;
    let part = |name: &str| {
        header.split(',').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k.trim() == name).then(|| v.trim().to_owned())
        })
    };
    let ts = part("ts").ok_or(SignatureError::Malformed("x-signature header"))?;
    let v1 = part("v1").ok_or(SignatureError::Malformed("x-signature header"))?;
    let data_id = req
        .query_param("data.id")
        .or_else(|| body_value(req).ok().and_then(|b| text(&b, "data.id")));
    let mut manifest = String::new();
    if let Some(id) = data_id {
        // Mercado Pago lower-cases alphanumeric ids before signing.
        let id = if id.chars().all(|c| c.is_ascii_alphanumeric()) {
            id.to_lowercase()
        } else {
            id
        };
        manifest.push_str(&format!("id:{id};"));
    }
    if let Some(request_id) = req.header("x-request-id").map(str::trim) {
        manifest.push_str(&format!("request-id:{request_id};"));
    }
    manifest.push_str(&format!("ts:{ts};"));
    let expected = hmac_sha256(secret.as_bytes(), manifest.as_bytes());
    check_hex(Some(&v1), &expected, "x-signature header")?;
    let ts: i64 = ts
        .parse()
        .map_err(|_| SignatureError::Malformed("x-signature timestamp"))?;
    // Seconds in the docs' manifest examples, milliseconds in some deliveries.
    let ts = if ts > 100_000_000_000 { ts / 1000 } else { ts };
    if (now_unix - ts).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

/// Notification topics (`type`, or `topic` in the legacy IPN; Mercado Pago "Webhooks" and
/// "IPN"). A payment notification is thin: its kind is the fetched payment's status
/// ([`PAYMENTS`]). Claims and chargebacks are disputes whatever their state.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("payment", None),
    (
        "topic_claims_integration_wh",
        Some(EventKind::OrderChargeback),
    ),
    ("claim", Some(EventKind::OrderChargeback)),
    ("topic_chargebacks_wh", Some(EventKind::OrderChargeback)),
    ("chargebacks", Some(EventKind::OrderChargeback)),
    // Subscriptions, merchant orders, card updates, fraud alerts, account links and the Point
    // terminal: not a message the buyer acts on, or a resource avisa does not fetch.
    ("subscription_authorized_payment", None),
    ("subscription_preapproval", None),
    ("subscription_preapproval_plan", None),
    ("topic_merchant_order_wh", None),
    ("merchant_order", None),
    ("topic_card_id_wh", None),
    ("stop_delivery_op_wh", None),
    ("mp-connect", None),
    ("wallet_connect", None),
    ("delivery", None),
    ("point_integration_wh", None),
];

/// The `status` of a payment fetched with GET /v1/payments/{id}; several kinds for one status
/// are picked by the payment type.
pub(super) const PAYMENTS: &[(&str, Option<EventKind>)] = &[
    // A boleto or PIX issued and not paid yet; a card one is not the buyer's to act on.
    ("status: pending", Some(EventKind::BoletoGenerated)),
    ("status: pending", Some(EventKind::PixGenerated)),
    ("status: in_process", Some(EventKind::PaymentInReview)),
    ("status: rejected", Some(EventKind::PaymentRefused)),
    // An unpaid boleto or PIX is cancelled by Mercado Pago when it expires.
    ("status: cancelled", Some(EventKind::PaymentExpired)),
    ("status: cancelled", Some(EventKind::OrderCanceled)),
    ("status: approved", Some(EventKind::OrderPaid)),
    ("status: refunded", Some(EventKind::OrderRefunded)),
    ("status: charged_back", Some(EventKind::OrderChargeback)),
    ("status: in_mediation", Some(EventKind::OrderChargeback)),
    // Authorized and waiting for capture: approved comes next.
    ("status: authorized", None),
];

fn topic_kind(topic: &str) -> Option<EventKind> {
    table_kind(EVENTS, topic)
}

/// A payment resource's status (with its type) as a kind.
fn payment_kind(status: &str, method: Option<PaymentMethod>) -> Option<EventKind> {
    let voucher = matches!(method, Some(PaymentMethod::Boleto | PaymentMethod::Pix));
    table_choose(PAYMENTS, &format!("status: {status}"), |kinds| {
        if kinds.contains(&EventKind::PaymentExpired) {
            Some(if voucher {
                EventKind::PaymentExpired
            } else {
                EventKind::OrderCanceled
            })
        } else {
            awaiting_kind(method)
        }
    })
}

fn method(body: &Value) -> Option<PaymentMethod> {
    let kind = text(body, "payment_type_id")?;
    Some(
        match (kind.as_str(), text(body, "payment_method_id").as_deref()) {
            ("credit_card" | "debit_card" | "prepaid_card", _) => PaymentMethod::CreditCard,
            ("ticket", _) => PaymentMethod::Boleto,
            ("bank_transfer", Some("pix")) => PaymentMethod::Pix,
            _ => PaymentMethod::Other,
        },
    )
}

/// GET /v1/payments/{id}: the buyer, the amount and the boleto/PIX to pay.
fn read_payment(body: &Value) -> Draft {
    let status = text(body, "status").unwrap_or_default();
    let method = method(body);
    let mut draft = Draft::new(format!("payment (resource) {status}"));
    draft.event.kind = payment_kind(&status, method);
    for prefix in ["payer.phone", "additional_info.payer.phone"] {
        draft.phone_parts(
            None,
            text(body, &format!("{prefix}.area_code")),
            text(body, &format!("{prefix}.number")),
        );
    }
    let e = &mut draft.event;
    e.order_id = text(body, "id");
    let name = ["payer.first_name", "payer.last_name"]
        .iter()
        .filter_map(|p| text(body, p))
        .collect::<Vec<_>>();
    e.customer.name = (!name.is_empty()).then(|| name.join(" "));
    e.customer.email = text(body, "payer.email");
    e.customer.document = text(body, "payer.identification.number");
    e.total_cents = reais(body, "transaction_amount");
    e.currency = text(body, "currency_id");
    e.occurred_at =
        timestamp(body, "date_last_updated").or_else(|| timestamp(body, "date_created"));
    if let Some(Value::Array(items)) = at(body, "additional_info.items") {
        e.products = items
            .iter()
            .filter_map(|item| {
                Some(Product {
                    name: text(item, "title")?,
                    id: text(item, "id"),
                    quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                    price_cents: reais(item, "unit_price"),
                    image_url: None,
                })
            })
            .collect();
    }
    let p = &mut e.payment;
    p.method = method;
    p.installments = int(body, "installments").and_then(|n| u32::try_from(n).ok());
    p.boleto_url = text(body, "transaction_details.external_resource_url")
        .filter(|_| method == Some(PaymentMethod::Boleto));
    p.boleto_barcode = first_text(
        body,
        &["transaction_details.digitable_line", "barcode.content"],
    );
    p.pix_code = text(body, "point_of_interaction.transaction_data.qr_code");
    p.pix_qr_url = text(body, "point_of_interaction.transaction_data.ticket_url");
    p.due_at = timestamp(body, "date_of_expiration");
    if e.kind == Some(EventKind::PaymentRefused) {
        p.refusal_reason = text(body, "status_detail");
    }
    draft
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_704_908_010;

    fn signed(ts: i64, secret: &[u8]) -> Vec<(String, String)> {
        let manifest = format!("id:999999999;request-id:req-1;ts:{ts};");
        let v1 = hex::encode(hmac_sha256(secret, manifest.as_bytes()));
        vec![
            ("x-signature".into(), format!("ts={ts},v1={v1}")),
            ("x-request-id".into(), "req-1".into()),
        ]
    }

    #[test]
    fn mercadopago_signature_over_the_manifest_is_accepted() {
        let body = br#"{"type":"payment","data":{"id":"999999999"}}"#;
        let h = signed(NOW, b"mp-secret");
        assert_eq!(
            verify("mp-secret", &Request::new(body, &h, ""), NOW),
            Ok(())
        );
        // The id signed is the query's data.id when there is one.
        let q = "data.id=999999999&type=payment";
        assert_eq!(
            verify("mp-secret", &Request::new(b"{}", &h, q), NOW),
            Ok(())
        );
        let millis = signed(NOW * 1000, b"mp-secret");
        assert_eq!(
            verify("mp-secret", &Request::new(body, &millis, ""), NOW),
            Ok(())
        );
    }

    #[test]
    fn mercadopago_signature_mismatch_missing_and_malformed_are_refused() {
        let body = br#"{"data":{"id":"999999999"}}"#;
        let h = signed(NOW, b"other");
        let refused = verify("mp-secret", &Request::new(body, &h, ""), NOW);
        assert_eq!(refused, Err(SignatureError::Mismatch));
        let none = verify("mp-secret", &Request::new(body, &[], ""), NOW);
        assert!(matches!(none, Err(SignatureError::Missing(_))));
        let bad = vec![("x-signature".to_owned(), "v1=abc".to_owned())];
        let bad = verify("mp-secret", &Request::new(body, &bad, ""), NOW);
        assert!(matches!(bad, Err(SignatureError::Malformed(_))));
    }

    #[test]
    fn mercadopago_signature_older_than_five_minutes_is_refused() {
        let body = br#"{"data":{"id":"999999999"}}"#;
        let h = signed(NOW - 301, b"mp-secret");
        let stale = verify("mp-secret", &Request::new(body, &h, ""), NOW);
        assert_eq!(stale, Err(SignatureError::Expired));
    }

    #[test]
    fn mercadopago_topics_map_to_kinds() {
        for (topic, kind) in [
            ("payment", None),
            ("subscription_authorized_payment", None),
            ("subscription_preapproval", None),
            ("subscription_preapproval_plan", None),
            ("mp-connect", None),
            ("wallet_connect", None),
            ("stop_delivery_op_wh", None),
            ("topic_card_id_wh", None),
            ("topic_merchant_order_wh", None),
            ("delivery", None),
            ("point_integration_wh", None),
            (
                "topic_claims_integration_wh",
                Some(EventKind::OrderChargeback),
            ),
            ("topic_chargebacks_wh", Some(EventKind::OrderChargeback)),
        ] {
            assert_eq!(topic_kind(topic), kind, "{topic}");
        }
    }

    #[test]
    fn mercadopago_payment_resource_statuses_map_to_kinds() {
        use EventKind::*;
        for (status, kind_id, method_id, kind) in [
            ("pending", "ticket", "bolbradesco", Some(BoletoGenerated)),
            ("pending", "bank_transfer", "pix", Some(PixGenerated)),
            ("in_process", "credit_card", "visa", Some(PaymentInReview)),
            ("approved", "credit_card", "visa", Some(OrderPaid)),
            ("authorized", "credit_card", "visa", None),
            ("rejected", "credit_card", "visa", Some(PaymentRefused)),
            ("cancelled", "bank_transfer", "pix", Some(PaymentExpired)),
            ("cancelled", "credit_card", "visa", Some(OrderCanceled)),
            ("refunded", "credit_card", "visa", Some(OrderRefunded)),
            ("charged_back", "credit_card", "visa", Some(OrderChargeback)),
            ("in_mediation", "credit_card", "visa", Some(OrderChargeback)),
        ] {
            let body = json!({"id": 1, "status": status, "payment_type_id": kind_id,
                "payment_method_id": method_id, "transaction_amount": 97.5,
                "payer": {"phone": {"area_code": "11", "number": "987654321"}},
                "point_of_interaction": {"transaction_data": {"qr_code": "000201"}}});
            let raw = body.to_string();
            let d = parse(&Request::new(raw.as_bytes(), &[], ""))
                .expect("resource")
                .remove(0);
            assert_eq!(d.event.kind, kind, "{status} {kind_id}");
            assert_eq!(d.event.total_cents, Some(9750));
            assert!(d.event.customer.phone.is_some());
        }
    }

    #[test]
    fn mercadopago_odd_bodies_do_not_panic() {
        let err = parse(&Request::new(br#"{"data": {"id": 1}}"#, &[], "")).expect_err("no type");
        assert!(err.to_string().contains("\"type\""));
        let ipn =
            br#"{"resource": "https://api.mercadolibre.com/v1/payments/123", "topic": "payment"}"#;
        let d = parse(&Request::new(ipn, &[], "")).expect("ipn").remove(0);
        assert_eq!(d.event.order_id.as_deref(), Some("123"));
        assert_eq!(d.delivery_id, None);
        let odd = br#"{"type": ["payment"], "topic": "payment", "data": "x", "id": {}}"#;
        let d = parse(&Request::new(odd, &[], "")).expect("odd").remove(0);
        assert_eq!(d.event.kind, None);
    }
}
