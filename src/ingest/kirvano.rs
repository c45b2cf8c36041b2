//! Kirvano: reads `{event, status, customer, products, payment}` webhooks into drafts; checks the
//! static token header. Uses only `common` and `domain`.

use serde_json::Value;

use super::common::{at, body_value, first_text, int, reais, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Headers integrators have seen Kirvano put the webhook token in (no primary doc was found).
const TOKEN_HEADERS: [&str; 2] = ["security-token", "x-kirvano-token"];

/// Reads one Kirvano delivery. The event name is `event`; a body without it is refused.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let name = text(&body, "event").ok_or_else(|| {
        ParseError::UnknownShape("Kirvano body without an `event` field (the event name)".into())
    })?;
    let mut draft = Draft::new(name.clone());
    draft.event.kind = kind_of(&name.to_ascii_uppercase());
    read(&body, &mut draft);
    if draft.event.kind == Some(EventKind::PaymentRefused) {
        draft.event.payment.refusal_reason = first_text(
            &body,
            &[
                "payment.refusal_reason",
                "payment.refused_reason",
                "refusal_reason",
                "reason",
            ],
        );
    }
    Ok(vec![draft])
}

/// Kirvano sends no HMAC: the token configured in its webhook settings comes back in a header
/// (`security-token` or `x-kirvano-token`, per integrators).
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let sent = TOKEN_HEADERS.iter().find_map(|h| req.header(h));
    check_token(sent, secret, "security-token header")
}

/// Kirvano event names (seen in samples and named by integrators) onto canonical kinds.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("ABANDONED_CART", Some(EventKind::CheckoutAbandoned)),
    ("BANK_SLIP_GENERATED", Some(EventKind::BoletoGenerated)),
    ("PIX_GENERATED", Some(EventKind::PixGenerated)),
    ("BANK_SLIP_EXPIRED", Some(EventKind::PaymentExpired)),
    ("PIX_EXPIRED", Some(EventKind::PaymentExpired)),
    ("SALE_APPROVED", Some(EventKind::OrderPaid)),
    ("SALE_REFUSED", Some(EventKind::PaymentRefused)),
    ("SALE_REFUNDED", Some(EventKind::OrderRefunded)),
    ("SALE_CHARGEBACK", Some(EventKind::OrderChargeback)),
    ("SUBSCRIPTION_RENEWED", Some(EventKind::SubscriptionRenewed)),
    // Kirvano's "assinatura atrasada": the renewal charge was not paid in time.
    ("SUBSCRIPTION_EXPIRED", Some(EventKind::SubscriptionOverdue)),
    ("SUBSCRIPTION_OVERDUE", Some(EventKind::SubscriptionOverdue)),
    (
        "SUBSCRIPTION_CANCELED",
        Some(EventKind::SubscriptionCanceled),
    ),
    (
        "SUBSCRIPTION_CANCELLED",
        Some(EventKind::SubscriptionCanceled),
    ),
];

fn kind_of(event: &str) -> Option<EventKind> {
    super::common::table_kind(EVENTS, event)
}

fn method_of(raw: &str) -> PaymentMethod {
    match raw.to_ascii_uppercase().as_str() {
        "CREDIT_CARD" => PaymentMethod::CreditCard,
        "PIX" => PaymentMethod::Pix,
        "BANK_SLIP" | "BOLETO" => PaymentMethod::Boleto,
        _ => PaymentMethod::Other,
    }
}

fn read(b: &Value, draft: &mut Draft) {
    let e = &mut draft.event;
    // Abandoned carts have no sale yet: the checkout id is what identifies them.
    e.order_id = first_text(b, &["sale_id", "checkout_id"]);
    e.occurred_at = timestamp(b, "payment.finished_at").or_else(|| timestamp(b, "created_at"));
    e.customer.name = text(b, "customer.name");
    e.customer.email = text(b, "customer.email");
    e.customer.document = text(b, "customer.document");
    // Amounts are formatted BRL strings ("R$ 169,80").
    e.total_cents = reais(b, "total_price");
    if let Some(Value::Array(items)) = at(b, "products") {
        e.products.extend(items.iter().filter_map(|item| {
            Some(Product {
                name: text(item, "name")?,
                id: text(item, "id"),
                quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                price_cents: reais(item, "price"),
                image_url: text(item, "photo"),
            })
        }));
    }
    let p = &mut e.payment;
    p.method = first_text(b, &["payment.method", "payment_method"]).map(|m| method_of(&m));
    p.boleto_url = first_text(b, &["payment.link", "payment.bank_slip_url", "payment.url"])
        .filter(|_| p.method == Some(PaymentMethod::Boleto));
    p.boleto_barcode = first_text(b, &["payment.digitable_line", "payment.barcode"]);
    p.pix_code = first_text(b, &["payment.qrcode", "payment.pix_code"]);
    p.pix_qr_url = text(b, "payment.qrcode_image");
    p.due_at = timestamp(b, "payment.expires_at");
    p.checkout_url = text(b, "checkout_url");
    p.installments = int(b, "payment.installments").and_then(|n| u32::try_from(n).ok());
    let s = &mut e.subscription;
    s.plan = first_text(b, &["plan.name", "subscription.plan.name"]);
    s.id = first_text(b, &["subscription_id", "subscription.id", "plan.id"]);
    s.next_charge_at = ["plan.next_charge_date", "subscription.next_charge_date"]
        .iter()
        .find_map(|path| timestamp(b, path));
    let u = &mut e.utm;
    u.source = text(b, "utm.utm_source");
    u.medium = text(b, "utm.utm_medium");
    u.campaign = text(b, "utm.utm_campaign");
    u.content = text(b, "utm.utm_content");
    u.term = text(b, "utm.utm_term");
    draft.phone(first_text(b, &["customer.phone_number", "customer.phone"]));
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{ReasonCode, recognise};

    fn read_body(body: &str) -> crate::ingest::Reading {
        recognise(Platform::Kirvano, &Request::new(body.as_bytes(), &[], "")).remove(0)
    }

    #[test]
    fn kirvano_token_header_must_match_the_store_secret() {
        let body = br#"{"event":"SALE_APPROVED"}"#;
        for header in TOKEN_HEADERS {
            let headers = [(header.to_owned(), "tok".to_owned())];
            let req = Request::new(body, &headers, "");
            assert_eq!(verify("tok", &req), Ok(()), "{header}");
            assert_eq!(verify("other", &req), Err(SignatureError::Mismatch));
        }
        let req = Request::new(body, &[], "");
        assert!(matches!(
            verify("tok", &req),
            Err(SignatureError::Missing(_))
        ));
    }

    #[test]
    fn kirvano_every_known_event_has_its_kind() {
        use EventKind::*;
        let table: &[(&str, Option<EventKind>)] = &[
            ("ABANDONED_CART", Some(CheckoutAbandoned)),
            ("BANK_SLIP_GENERATED", Some(BoletoGenerated)),
            ("PIX_GENERATED", Some(PixGenerated)),
            ("BANK_SLIP_EXPIRED", Some(PaymentExpired)),
            ("PIX_EXPIRED", Some(PaymentExpired)),
            ("SALE_APPROVED", Some(OrderPaid)),
            ("SALE_REFUSED", Some(PaymentRefused)),
            ("SALE_REFUNDED", Some(OrderRefunded)),
            ("SALE_CHARGEBACK", Some(OrderChargeback)),
            ("SUBSCRIPTION_RENEWED", Some(SubscriptionRenewed)),
            ("SUBSCRIPTION_EXPIRED", Some(SubscriptionOverdue)),
            ("SUBSCRIPTION_CANCELED", Some(SubscriptionCanceled)),
            ("SOMETHING_NEW", None),
        ];
        for (name, kind) in table {
            assert_eq!(kind_of(name), *kind, "{name}");
        }
    }

    #[test]
    fn kirvano_pix_generated_carries_the_copy_paste_code() {
        let r = read_body(
            r#"{"event":"PIX_GENERATED","sale_id":"S1","total_price":"R$ 97,00",
               "customer":{"name":"Ana","phone_number":"5511987654321"},
               "payment":{"method":"PIX","qrcode":"00020126...","expires_at":"2025-03-01 10:00:00"}}"#,
        );
        let e = r.event.expect("event");
        assert_eq!(e.kind, Some(EventKind::PixGenerated));
        assert_eq!(e.total_cents, Some(9700));
        assert_eq!(e.payment.pix_code.as_deref(), Some("00020126..."));
        assert_eq!(e.payment.due_at.as_deref(), Some("2025-03-01T13:00:00Z"));
    }

    #[test]
    fn kirvano_body_without_event_is_an_unknown_shape() {
        let r = read_body(r#"{"sale_id":"S1"}"#);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::UnknownShape);
    }

    #[test]
    fn kirvano_wrong_types_make_facts_absent() {
        let r = read_body(
            r#"{"event":"SALE_APPROVED","sale_id":{},"total_price":true,"products":{"a":1},
               "customer":{"phone_number":"55119876S4321"}}"#,
        );
        assert_eq!(r.reason.clone().expect("reason").code, ReasonCode::BadPhone);
        let e = r.event.expect("event");
        assert_eq!(e.order_id, None);
        assert_eq!(e.total_cents, None);
        assert!(e.products.is_empty());
    }
}
