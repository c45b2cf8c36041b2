//! Pepper postbacks (github GoPepper/Webhooks): one flat body for every event, named by
//! `status`, amounts in reais. Pepper documents no token or signature.

use super::catalog::table_choose;
use super::common::{body_value, email, first_text, int, reais, text, timestamp, utm_flat};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Pepper's `status` values; WaitingPayment's kind is picked by `payment_type` in [`kind`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("Abandonment", Some(EventKind::CheckoutAbandoned)),
    // An order opened at the checkout, before any payment attempt.
    ("Created", None),
    // Awaiting payment: the boleto or PIX is out, or a card is in review (by `payment_type`).
    ("WaitingPayment", Some(EventKind::BoletoGenerated)),
    ("WaitingPayment", Some(EventKind::PixGenerated)),
    ("WaitingPayment", Some(EventKind::PaymentInReview)),
    ("Paid", Some(EventKind::OrderPaid)),
    ("Refused", Some(EventKind::PaymentRefused)),
    ("Refunded", Some(EventKind::OrderRefunded)),
    ("Chargeback", Some(EventKind::OrderChargeback)),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let name = text(&body, "status").ok_or_else(|| {
        ParseError::UnknownShape("a Pepper postback names its event in `status`".into())
    })?;
    let method = text(&body, "payment_type").map(|m| match m.as_str() {
        "Pix" => PaymentMethod::Pix,
        "Billet" => PaymentMethod::Boleto,
        "Card" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    });
    let mut draft = Draft::new(name.as_str());
    let e = &mut draft.event;
    e.kind = kind(&name, method);
    e.order_id = if name == "Abandonment" {
        first_text(&body, &["abandonmentId", "transaction"])
    } else {
        first_text(&body, &["transaction", "abandonmentId"])
    };
    e.occurred_at = timestamp(&body, "confirmation_purchase_date")
        .or_else(|| timestamp(&body, "purchase_date"));
    e.customer.name = text(&body, "name");
    e.customer.first_name = text(&body, "first_name");
    e.customer.email = email(&body, "email");
    e.customer.document = text(&body, "doc");
    if let Some(product) = text(&body, "prod_name") {
        e.products.push(Product {
            name: product,
            id: text(&body, "prod"),
            quantity: Some(1),
            price_cents: reais(&body, "price"),
            image_url: None,
        });
    }
    // `price` is the offer; `full_price` adds card-installment interest (read like Hotmart).
    e.total_cents = reais(&body, "price").or_else(|| reais(&body, "full_price"));
    e.currency = text(&body, "currency");
    let p = &mut e.payment;
    p.method = method;
    p.boleto_url = text(&body, "billet_url");
    p.boleto_barcode = text(&body, "billet_barcode");
    p.pix_code = text(&body, "pix_qrcode");
    p.installments = int(&body, "installments_number").and_then(|n| u32::try_from(n).ok());
    p.checkout_url = text(&body, "checkout_url");
    e.utm = utm_flat(&body);
    if e.utm.content.is_none() {
        e.utm.content = text(&body, "sck");
    }
    if e.utm.source.is_none() {
        e.utm.source = text(&body, "src");
    }
    draft.phone(text(&body, "phone_number"));
    Ok(vec![draft])
}

fn kind(name: &str, method: Option<PaymentMethod>) -> Option<EventKind> {
    table_choose(EVENTS, name, |_| {
        Some(match method {
            Some(PaymentMethod::Pix) => EventKind::PixGenerated,
            Some(PaymentMethod::CreditCard) => EventKind::PaymentInReview,
            _ => EventKind::BoletoGenerated,
        })
    })
}

/// Pepper documents no token or signature: the secret URL is the only protection.
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

    fn kind_of(body: &str) -> Option<EventKind> {
        recognise(Platform::Pepper, &Request::new(body.as_bytes(), &[], ""))[0]
            .event
            .as_ref()
            .and_then(|e| e.kind)
    }

    #[test]
    fn every_documented_status_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            if crate::ingest::catalog::table_kinds(EVENTS, name).len() > 1 {
                continue;
            }
            assert_eq!(
                kind_of(&format!(r#"{{"status":"{name}"}}"#)),
                *kind,
                "{name}"
            );
        }
        assert_eq!(
            kind_of(r#"{"status":"WaitingPayment"}"#),
            Some(EventKind::BoletoGenerated)
        );
        assert_eq!(
            kind_of(r#"{"status":"WaitingPayment","payment_type":"Pix"}"#),
            Some(EventKind::PixGenerated)
        );
        assert_eq!(
            kind_of(r#"{"status":"WaitingPayment","payment_type":"Card"}"#),
            Some(EventKind::PaymentInReview)
        );
    }
}
