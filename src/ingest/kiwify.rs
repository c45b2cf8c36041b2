//! Kiwify: reads an order webhook (`webhook_event_type`) or the flat abandoned-cart body into one
//! event, and checks the `signature` HMAC-SHA1 over the raw body. Uses the shared path helpers.

use serde_json::Value;

use super::common::{at, body_value, cents, first_text, int, text, timestamp};
use super::signature::{check_hex, hmac_sha1};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Kiwify's `webhook_event_type` names and their canonical kinds.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("billet_created", Some(EventKind::BoletoGenerated)),
    ("pix_created", Some(EventKind::PixGenerated)),
    ("order_rejected", Some(EventKind::PaymentRefused)),
    ("order_approved", Some(EventKind::OrderPaid)),
    ("order_refunded", Some(EventKind::OrderRefunded)),
    ("chargeback", Some(EventKind::OrderChargeback)),
    (
        "subscription_canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
    ("subscription_late", Some(EventKind::SubscriptionOverdue)),
    ("subscription_renewed", Some(EventKind::SubscriptionRenewed)),
    // The abandoned-cart trigger's names as integrators and Kiwify's panel spell them.
    ("abandoned_cart", Some(EventKind::CheckoutAbandoned)),
    ("carrinho_abandonado", Some(EventKind::CheckoutAbandoned)),
    ("abandoned", Some(EventKind::CheckoutAbandoned)),
];

/// Where Kiwify's short checkout codes live.
const CHECKOUT_BASE: &str = "https://pay.kiwify.com.br/";

/// Reads one Kiwify delivery.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    // Some integrations forward the order wrapped as `{"order": {...}}`.
    let body = at(&body, "order")
        .filter(|o| o.is_object() && at(&body, "webhook_event_type").is_none())
        .unwrap_or(&body);
    if let Some(name) = text(body, "webhook_event_type") {
        return Ok(vec![order(body, name)]);
    }
    // The abandoned-cart trigger has its own flat schema and no event name, only a status.
    match text(body, "status") {
        Some(status) if status == "abandoned" => Ok(vec![abandoned(body, status)]),
        _ => Err(ParseError::UnknownShape(
            "a Kiwify webhook has `webhook_event_type` (or `status: abandoned` for carts); \
             this body has neither"
                .into(),
        )),
    }
}

fn kind_of(name: &str) -> Option<EventKind> {
    super::common::table_kind(EVENTS, name)
}

/// An order webhook: the nested `Customer`, `Product`, `Commissions`, `Subscription` blocks.
fn order(body: &Value, name: String) -> Draft {
    let mut draft = Draft::new(name.as_str());
    let ev = &mut draft.event;
    ev.kind = kind_of(&name);
    ev.order_id = text(body, "order_id");
    ev.occurred_at = first_time(body, &["updated_at", "approved_date", "created_at"]);
    ev.customer.name = first_text(body, &["Customer.full_name", "Customer.first_name"]);
    ev.customer.first_name = text(body, "Customer.first_name");
    ev.customer.email = text(body, "Customer.email");
    ev.customer.document = first_text(body, &["Customer.CPF", "Customer.cpf", "Customer.cnpj"]);

    // `charge_amount` is what the buyer is charged, in cents; the base price is the fallback.
    ev.total_cents = cents(body, "Commissions.charge_amount")
        .or_else(|| cents(body, "Commissions.product_base_price"));
    ev.currency = first_text(
        body,
        &[
            "Commissions.currency",
            "Commissions.product_base_price_currency",
        ],
    );
    if let Some(name) = text(body, "Product.product_name") {
        ev.products.push(Product {
            name,
            id: text(body, "Product.product_id"),
            quantity: Some(1),
            price_cents: cents(body, "Commissions.product_base_price"),
            image_url: None,
        });
    }

    let p = &mut ev.payment;
    p.method = text(body, "payment_method").map(|m| method(&m));
    p.boleto_url = text(body, "boleto_URL");
    p.boleto_barcode = text(body, "boleto_barcode");
    p.pix_code = text(body, "pix_code");
    p.due_at = first_time(body, &["boleto_expiry_date", "pix_expiration"]);
    p.refusal_reason = text(body, "card_rejection_reason");
    p.installments = int(body, "installments").and_then(|n| u32::try_from(n).ok());
    p.checkout_url = text(body, "checkout_link").map(|c| checkout_url(&c));

    let s = &mut ev.subscription;
    s.id = first_text(body, &["Subscription.id", "subscription_id"]);
    s.plan = text(body, "Subscription.plan.name");
    s.status = text(body, "Subscription.status");
    s.next_charge_at = timestamp(body, "Subscription.next_payment");

    ev.access.url = text(body, "access_url");
    let t = "TrackingParameters";
    ev.utm.source = first_text(body, &[&format!("{t}.utm_source"), &format!("{t}.src")]);
    ev.utm.medium = text(body, &format!("{t}.utm_medium"));
    ev.utm.campaign = text(body, &format!("{t}.utm_campaign"));
    ev.utm.content = text(body, &format!("{t}.utm_content"));
    ev.utm.term = text(body, &format!("{t}.utm_term"));

    draft.phone(first_text(body, &["Customer.mobile", "Customer.phone"]));
    draft
}

/// The abandoned-cart body: flat buyer and product fields; the cart id stands for the order.
fn abandoned(body: &Value, status: String) -> Draft {
    let mut draft = Draft::new(status.as_str());
    let ev = &mut draft.event;
    ev.kind = Some(EventKind::CheckoutAbandoned);
    ev.order_id = text(body, "id");
    ev.occurred_at = timestamp(body, "created_at");
    ev.customer.name = text(body, "name");
    ev.customer.email = text(body, "email");
    ev.customer.document = first_text(body, &["cpf", "cnpj"]);
    if let Some(name) = first_text(body, &["product_name", "offer_name"]) {
        ev.products.push(Product {
            name,
            id: text(body, "product_id"),
            ..Product::default()
        });
    }
    ev.payment.checkout_url = text(body, "checkout_link").map(|c| checkout_url(&c));
    ev.subscription.plan = text(body, "subscription_plan");
    draft.phone(text(body, "phone"));
    draft
}

/// Kiwify sends the checkout's short code; a full URL is kept as it is.
fn checkout_url(code: &str) -> String {
    if code.starts_with("http://") || code.starts_with("https://") {
        code.to_owned()
    } else {
        format!("{CHECKOUT_BASE}{code}")
    }
}

fn first_time(body: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| timestamp(body, p))
}

fn method(name: &str) -> PaymentMethod {
    match name {
        "boleto" => PaymentMethod::Boleto,
        "pix" => PaymentMethod::Pix,
        "credit_card" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    }
}

/// Kiwify appends `?signature=<hex HMAC-SHA1(token, raw body)>` to the registered URL; some
/// integrations relay it in the `X-Kiwify-Signature` header instead.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let sent = req
        .query_param("signature")
        .or_else(|| req.header("x-kiwify-signature").map(str::to_owned));
    let expected = hmac_sha1(secret.trim().as_bytes(), req.body);
    check_hex(sent.as_deref(), &expected, "Kiwify signature")
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{ReasonCode, recognise};

    const SECRET: &str = "9ch0bpzogu9";

    fn signed_body(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/signatures/kiwify_{name}.compact.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).expect("signature test body exists")
    }

    #[test]
    fn signature_query_matches_kiwify_real_vectors() {
        for (name, sig) in [
            ("billet_created", "06f61a6aff46cea884f02a981caedc92c3c247b8"),
            ("pix_created", "c917b9ac6d93c7f7a4ae2163aff0bdc482d1cc75"),
        ] {
            let body = signed_body(name);
            let query = format!("signature={sig}");
            assert_eq!(
                verify(SECRET, &Request::new(&body, &[], &query)),
                Ok(()),
                "{name}"
            );
            let headers = vec![("X-Kiwify-Signature".to_owned(), sig.to_owned())];
            assert_eq!(verify(SECRET, &Request::new(&body, &headers, "")), Ok(()));
        }
    }

    #[test]
    fn signature_from_another_body_or_secret_is_refused() {
        let body = signed_body("billet_created");
        let pix_sig = "signature=c917b9ac6d93c7f7a4ae2163aff0bdc482d1cc75";
        let billet_sig = "signature=06f61a6aff46cea884f02a981caedc92c3c247b8";
        let mismatch = Err(SignatureError::Mismatch);
        assert_eq!(verify(SECRET, &Request::new(&body, &[], pix_sig)), mismatch);
        assert_eq!(
            verify("other", &Request::new(&body, &[], billet_sig)),
            mismatch
        );
        assert!(matches!(
            verify(SECRET, &Request::new(&body, &[], "signature=zz")),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify(SECRET, &Request::new(&body, &[], "")),
            Err(SignatureError::Missing(_))
        ));
    }

    fn kind_of_body(body: &str) -> Option<EventKind> {
        let readings = recognise(Platform::Kiwify, &Request::new(body.as_bytes(), &[], ""));
        readings[0].event.as_ref().and_then(|e| e.kind)
    }

    #[test]
    fn every_documented_event_name_has_a_kind() {
        let want = [
            ("billet_created", "boleto.generated"),
            ("pix_created", "pix.generated"),
            ("order_rejected", "payment.refused"),
            ("order_approved", "order.paid"),
            ("order_refunded", "order.refunded"),
            ("chargeback", "order.chargeback"),
            ("subscription_canceled", "subscription.canceled"),
            ("subscription_late", "subscription.overdue"),
            ("subscription_renewed", "subscription.renewed"),
        ];
        for (name, kind) in want {
            let body = format!(r#"{{"webhook_event_type":"{name}"}}"#);
            assert_eq!(
                kind_of_body(&body).and_then(EventKind::static_str),
                Some(kind),
                "{name}"
            );
        }
        assert_eq!(kind_of_body(r#"{"webhook_event_type":"new_thing"}"#), None);
    }

    #[test]
    fn a_cart_without_event_name_is_recognised_by_its_status() {
        let body =
            r#"{"status":"abandoned","id":"c1","checkout_link":"abc","phone":"11987654321"}"#;
        let readings = recognise(Platform::Kiwify, &Request::new(body.as_bytes(), &[], ""));
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(event.kind, Some(EventKind::CheckoutAbandoned));
        assert_eq!(
            event.payment.checkout_url.as_deref(),
            Some("https://pay.kiwify.com.br/abc")
        );
    }

    #[test]
    fn odd_bodies_never_panic_and_say_why() {
        let readings = recognise(
            Platform::Kiwify,
            &Request::new(br#"{"status":"paid"}"#, &[], ""),
        );
        assert_eq!(
            readings[0].reason.as_ref().map(|r| r.code),
            Some(ReasonCode::UnknownShape)
        );
        let body = br#"{"webhook_event_type":"order_approved","Customer":"x","Commissions":{"charge_amount":"abc"},"installments":-3}"#;
        let readings = recognise(Platform::Kiwify, &Request::new(body, &[], ""));
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(
            (event.total_cents, event.payment.installments),
            (None, None)
        );
        assert_eq!(
            readings[0].reason.as_ref().map(|r| r.code),
            Some(ReasonCode::NoPhone)
        );
    }
}
