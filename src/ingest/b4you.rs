//! B4You webhooks (WEBHOOK_DOCUMENTATION.md beside B4You's sender lambda): one flat body named
//! by `event_name`, amounts in reais, the static token as `Authorization: Bearer` and
//! `X-API-Token`.

use serde_json::Value;

use super::common::{
    at, body_value, email, first_text, int, list, reais, table_kind, text, timestamp,
};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product, Utm};

/// B4You's `event_name` keys, the 14 of WEBHOOK_DOCUMENTATION.md's "Eventos Disponíveis".
/// approved-payment, generated-billet, abandoned-cart, refund and tracking have published
/// examples; the others are listed without one.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("approved-payment", Some(EventKind::OrderPaid)),
    ("refused-payment", Some(EventKind::PaymentRefused)),
    ("refund", Some(EventKind::OrderRefunded)),
    ("chargeback", Some(EventKind::OrderChargeback)),
    ("abandoned-cart", Some(EventKind::CheckoutAbandoned)),
    ("generated-billet", Some(EventKind::BoletoGenerated)),
    ("generated-pix", Some(EventKind::PixGenerated)),
    (
        "canceled-subscription",
        Some(EventKind::SubscriptionCanceled),
    ),
    ("late-subscription", Some(EventKind::SubscriptionOverdue)),
    ("renewed-subscription", Some(EventKind::SubscriptionRenewed)),
    ("tracking", Some(EventKind::OrderShipped)),
    // Affiliate requests are between the producer and an affiliate, not a buyer.
    ("affiliate-request", None),
    ("approved-affiliate", None),
    ("refused-affiliate", None),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let name = text(&body, "event_name").ok_or_else(|| {
        ParseError::UnknownShape("a B4You webhook names its event in `event_name`".into())
    })?;
    let mut draft = Draft::new(name.as_str());
    let e = &mut draft.event;
    e.kind = table_kind(EVENTS, &name);
    e.order_id = text(&body, "sale_id");
    e.occurred_at = timestamp(&body, "updated_at").or_else(|| timestamp(&body, "created_at"));
    let buyer = at(&body, "customer").unwrap_or(&Value::Null);
    e.customer.name = text(buyer, "full_name");
    e.customer.email = email(buyer, "email");
    e.customer.document = text(buyer, "document_number");
    if let Some(name) = text(&body, "product.name") {
        e.products.push(Product {
            name,
            id: text(&body, "product.id"),
            quantity: int(&body, "offer.quantity").and_then(|q| u32::try_from(q).ok()),
            price_cents: reais(&body, "offer.original_price"),
            image_url: text(&body, "product.offer_image"),
        });
    }
    for extra in list(&body, "products") {
        if let Some(name) = text(extra, "name") {
            e.products.push(Product {
                name,
                id: text(extra, "id"),
                quantity: int(extra, "quantity").and_then(|q| u32::try_from(q).ok()),
                price_cents: reais(extra, "price"),
                image_url: text(extra, "image"),
            });
        }
    }
    // `charges[].amount` can be one installment; the sale's price is the offer's base price.
    e.total_cents = reais(&body, "splits.base_price")
        .or_else(|| reais(&body, "offer.original_price"))
        .or_else(|| reais(&body, "checkout.price"));
    e.currency = Some("BRL".into());
    let p = &mut e.payment;
    p.method = text(&body, "payment_method").map(|m| match m.as_str() {
        "card" | "credit_card" => PaymentMethod::CreditCard,
        "pix" => PaymentMethod::Pix,
        "billet" | "boleto" => PaymentMethod::Boleto,
        _ => PaymentMethod::Other,
    });
    p.boleto_url = text(&body, "billet.url");
    p.boleto_barcode = first_text(&body, &["billet.line_code", "billet.barcode"]);
    p.due_at = timestamp(&body, "billet.due_date");
    p.pix_code = text(&body, "pix.code");
    p.pix_qr_url = text(&body, "pix.url");
    p.checkout_url = text(&body, "checkout.url");
    p.installments = int(&body, "installments").and_then(|n| u32::try_from(n).ok());
    p.refusal_reason = text(&body, "refusal_reason");
    e.shipping.tracking_code = text(&body, "tracking.code");
    e.shipping.tracking_url = text(&body, "tracking.url");
    e.shipping.carrier = text(&body, "tracking.company");
    let sub = at(&body, "subscription")
        .filter(|s| s.is_object())
        .unwrap_or(&Value::Null);
    e.subscription.id = text(sub, "id");
    e.subscription.status = text(sub, "status");
    e.subscription.next_charge_at = timestamp(sub, "next_charge");
    let t = at(&body, "tracking_parameters").unwrap_or(&Value::Null);
    e.utm = Utm {
        source: text(t, "utm_source").or_else(|| text(t, "src")),
        medium: text(t, "utm_medium"),
        campaign: text(t, "utm_campaign"),
        content: text(t, "utm_content").or_else(|| text(t, "sck")),
        term: text(t, "utm_term"),
    };
    draft.phone(first_text(buyer, &["whatsapp", "phone"]));
    Ok(vec![draft])
}

/// The token goes as `Authorization: Bearer <token>` and again as `X-API-Token`.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let bearer = req
        .header("authorization")
        .and_then(|a| a.trim().strip_prefix("Bearer "));
    match bearer {
        Some(token) => check_token(Some(token), secret, "Authorization header"),
        None => check_token(req.header("x-api-token"), secret, "X-API-Token header"),
    }
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
            let body = format!(r#"{{"event_name":"{name}"}}"#);
            let readings = recognise(Platform::B4you, &Request::new(body.as_bytes(), &[], ""));
            assert_eq!(
                readings[0].event.as_ref().expect("event").kind,
                *kind,
                "{name}"
            );
        }
    }

    #[test]
    fn bearer_or_api_token_header_must_match() {
        let bearer = vec![("authorization".to_owned(), "Bearer t1".to_owned())];
        let api = vec![("x-api-token".to_owned(), "t1".to_owned())];
        assert_eq!(verify("t1", &Request::new(b"{}", &bearer, "")), Ok(()));
        assert_eq!(verify("t1", &Request::new(b"{}", &api, "")), Ok(()));
        assert_eq!(
            verify("t2", &Request::new(b"{}", &bearer, "")),
            Err(SignatureError::Mismatch)
        );
    }
}
