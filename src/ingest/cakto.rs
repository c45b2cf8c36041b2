//! Cakto webhooks: `{secret, event, data}` where `data` is one order (the docs) or an array of
//! orders (a real pix_gerado delivery); amounts in reais. The `secret` travels in the body; the
//! newer scheme signs `{timestamp}.{body}` with it (`X-Cakto-Signature: v1=<hex>`).

use serde_json::Value;

use super::common::{
    at, body_value, email, first_text, int, list, reais, table_kind, text, timestamp, utm_flat,
};
use super::signature::{check_hex, check_token, hmac_sha256};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Cakto's `event` names (Notion docs "Webhooks pt-br"; initiate_checkout, subscription_created,
/// subscription_renewal_refused and openfinance_nubank_gerado from docs.cakto.com.br).
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("initiate_checkout", None),
    ("checkout_abandonment", Some(EventKind::CheckoutAbandoned)),
    ("boleto_gerado", Some(EventKind::BoletoGenerated)),
    ("pix_gerado", Some(EventKind::PixGenerated)),
    // PicPay and Nubank Open Finance are wallet payments the buyer approves in an app: not a
    // boleto or a PIX code avisa can remind about.
    ("picpay_gerado", None),
    ("openfinance_nubank_gerado", None),
    ("purchase_approved", Some(EventKind::OrderPaid)),
    ("purchase_refused", Some(EventKind::PaymentRefused)),
    ("refund", Some(EventKind::OrderRefunded)),
    ("chargeback", Some(EventKind::OrderChargeback)),
    ("subscription_created", Some(EventKind::SubscriptionStarted)),
    ("subscription_renewed", Some(EventKind::SubscriptionRenewed)),
    (
        "subscription_renewal_refused",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "subscription_canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let name = text(&body, "event").ok_or_else(|| {
        ParseError::UnknownShape("a Cakto webhook names its event in `event`".into())
    })?;
    let orders: Vec<&Value> = match at(&body, "data") {
        Some(Value::Array(_)) => list(&body, "data"),
        Some(data) => vec![data],
        None => vec![&Value::Null],
    };
    Ok(orders.into_iter().map(|order| read(&name, order)).collect())
}

fn read(name: &str, data: &Value) -> Draft {
    let mut draft = Draft::new(name);
    let e = &mut draft.event;
    e.kind = table_kind(EVENTS, name);
    e.order_id = text(data, "id");
    e.occurred_at = timestamp(data, "createdAt");
    let buyer = at(data, "customer")
        .or_else(|| at(data, "subscription.customer"))
        .unwrap_or(&Value::Null);
    e.customer.name = text(buyer, "name");
    e.customer.email = email(buyer, "email");
    e.customer.document = text(buyer, "docNumber");
    if let Some(product) = text(data, "product.name") {
        e.products.push(Product {
            name: product,
            id: text(data, "product.id"),
            quantity: Some(1),
            price_cents: reais(data, "offer.price"),
            image_url: None,
        });
    }
    // `amount` is what was charged (installment interest included); `baseAmount` the price.
    e.total_cents = reais(data, "amount").or_else(|| reais(data, "baseAmount"));
    e.currency = text(data, "offer.currency").or(Some("BRL".into()));
    let p = &mut e.payment;
    p.method = text(data, "paymentMethod").map(|m| match m.as_str() {
        "pix" => PaymentMethod::Pix,
        "boleto" => PaymentMethod::Boleto,
        "credit_card" | "debit_card" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    });
    p.pix_code = text(data, "pix.qrCode");
    p.due_at = timestamp(data, "pix.expirationDate")
        .or_else(|| timestamp(data, "boleto.expirationDate"))
        .or_else(|| timestamp(data, "due_date"));
    p.boleto_barcode = first_text(data, &["boleto.barcode", "boleto.digitableLine"]);
    p.boleto_url = first_text(data, &["boleto.boletoUrl", "boleto.url"]);
    // The Notion export wraps links in <…>; a real delivery pads them with spaces.
    p.checkout_url = text(data, "checkoutUrl")
        .map(|u| {
            u.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
                .to_owned()
        })
        .filter(|u| u.starts_with("http"));
    p.installments = int(data, "installments").and_then(|n| u32::try_from(n).ok());
    p.refusal_reason = text(data, "reason");
    let sub = at(data, "subscription")
        .filter(|s| s.is_object())
        .unwrap_or(&Value::Null);
    e.subscription.id = text(sub, "id");
    e.subscription.status = text(sub, "status");
    e.subscription.next_charge_at = timestamp(sub, "next_payment_date");
    e.utm = utm_flat(data);
    if e.utm.content.is_none() {
        e.utm.content = text(data, "sck");
    }
    let phone = text(buyer, "phone");
    draft.phone(phone);
    draft.phone(text(data, "subscription.customer.phone"));
    draft
}

/// `X-Cakto-Signature: v1=<hex HMAC-SHA256(secret, "{X-Cakto-Timestamp}.{body}")>` when Cakto
/// signs; the older deliveries carry the secret itself in the body.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    if let Some(sig) = req.header("x-cakto-signature") {
        let ts = req
            .header("x-cakto-timestamp")
            .ok_or(SignatureError::Missing("X-Cakto-Timestamp header"))?;
        let sent = sig
            .split(',')
            .find_map(|part| part.trim().strip_prefix("v1="))
            .ok_or(SignatureError::Malformed("X-Cakto-Signature header"))?;
        let mut signed = format!("{}.", ts.trim()).into_bytes();
        signed.extend_from_slice(req.body);
        let expected = hmac_sha256(secret.as_bytes(), &signed);
        return check_hex(Some(sent), &expected, "X-Cakto-Signature header");
    }
    let sent = body_value(req).ok().and_then(|b| text(&b, "secret"));
    check_token(sent.as_deref(), secret, "secret")
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
    fn every_documented_event_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            let body = format!(r#"{{"event":"{name}","data":{{"id":"o1"}}}}"#);
            let readings = recognise(Platform::Cakto, &Request::new(body.as_bytes(), &[], ""));
            assert_eq!(
                readings[0].event.as_ref().expect("event").kind,
                *kind,
                "{name}"
            );
        }
    }

    #[test]
    fn an_array_of_orders_is_one_event_each() {
        let body = br#"{"event":"pix_gerado","data":[{"id":"a","customer":{"phone":"5531999999999"}},{"id":"b"}]}"#;
        let readings = recognise(Platform::Cakto, &Request::new(body, &[], ""));
        assert_eq!(readings.len(), 2);
        assert_eq!(
            readings[1]
                .event
                .as_ref()
                .and_then(|e| e.order_id.as_deref()),
            Some("b")
        );
    }

    #[test]
    fn the_signature_header_or_the_body_secret_must_match() {
        let body = br#"{"event":"refund","secret":"s1"}"#;
        assert_eq!(verify("s1", &Request::new(body, &[], "")), Ok(()));
        assert_eq!(
            verify("s2", &Request::new(body, &[], "")),
            Err(SignatureError::Mismatch)
        );
        let mac = hex::encode(hmac_sha256(
            b"s2",
            b"1700000000.{\"event\":\"refund\",\"secret\":\"s1\"}",
        ));
        let headers = vec![
            ("x-cakto-timestamp".to_owned(), "1700000000".to_owned()),
            ("x-cakto-signature".to_owned(), format!("v1={mac}")),
        ];
        assert_eq!(verify("s2", &Request::new(body, &headers, "")), Ok(()));
        assert_eq!(
            verify("s1", &Request::new(body, &headers, "")),
            Err(SignatureError::Mismatch)
        );
    }
}
