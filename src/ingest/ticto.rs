//! Ticto: reads webhook v2.0 bodies (and the flat abandoned-cart body) into drafts; checks the
//! static body `token`. Uses only `common` and `domain`.

use serde_json::Value;

use super::common::{at, first_text, int, reais, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Reads one Ticto delivery. The event name is `status`; a body without it is refused.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = super::common::body_value(req)?;
    let status = text(&body, "status").ok_or_else(|| {
        ParseError::UnknownShape("Ticto body without a `status` field (the event name)".into())
    })?;
    let method = text(&body, "payment_method");
    let mut draft = Draft::new(status.clone());
    draft.event.kind = kind_of(&status, method.as_deref());
    if at(&body, "order").is_some() || at(&body, "customer").is_some() {
        read_order(&body, &mut draft);
    } else {
        read_flat_cart(&body, &mut draft);
    }
    Ok(vec![draft])
}

/// Ticto sends no signature: the body carries the producer's static webhook `token`.
/// The flat abandoned-cart body carries no token at all, so it cannot pass this check.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let body = super::common::body_value(req).map_err(|_| SignatureError::Missing("token"))?;
    check_token(text(&body, "token").as_deref(), secret, "token")
}

/// Ticto's `status` values (SOURCES.md) onto canonical kinds; `None` = not a buyer message.
/// `waiting_payment`'s kind is picked by the method in [`kind_of`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("abandoned_cart", Some(EventKind::CheckoutAbandoned)),
    ("authorized", Some(EventKind::OrderPaid)),
    ("bank_slip_created", Some(EventKind::BoletoGenerated)),
    ("bank_slip_delayed", Some(EventKind::PaymentOverdue)),
    ("pix_created", Some(EventKind::PixGenerated)),
    ("pix_expired", Some(EventKind::PaymentExpired)),
    ("refused", Some(EventKind::PaymentRefused)),
    ("refunded", Some(EventKind::OrderRefunded)),
    // A claim (reclamação) is a dispute opened by the buyer: DESIGN files disputes under
    // chargeback.
    ("chargeback", Some(EventKind::OrderChargeback)),
    ("claimed", Some(EventKind::OrderChargeback)),
    (
        "subscription_canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
    ("subscription_delayed", Some(EventKind::SubscriptionOverdue)),
    // Boleto or PIX out, or a card in analysis: see [`kind_of`].
    ("waiting_payment", Some(EventKind::BoletoGenerated)),
    ("waiting_payment", Some(EventKind::PixGenerated)),
    ("waiting_payment", Some(EventKind::PaymentInReview)),
    // Account housekeeping or trials without a charge: no canonical kind.
    ("close", None),
    ("trial", None),
    ("trial_started", None),
    ("trial_ended", None),
    ("all_charges_paid", None),
    ("card_exchanged", None),
    ("extended", None),
    ("uncanceled", None),
];

fn kind_of(status: &str, method: Option<&str>) -> Option<EventKind> {
    // "Aguardando pagamento" means a different thing per method: the boleto or PIX is out, or
    // the card is being analysed. Same facts as bank_slip_created/pix_created, so the content
    // hash drops the second one.
    super::catalog::table_choose(EVENTS, status, |_| match method? {
        "bank_slip" => Some(EventKind::BoletoGenerated),
        "pix" => Some(EventKind::PixGenerated),
        "credit_card" => Some(EventKind::PaymentInReview),
        _ => None,
    })
}

/// Ticto writes "Não Informado" where a buyer left a field empty: that is an absent fact.
fn given(body: &Value, path: &str) -> Option<String> {
    text(body, path).filter(|s| !s.to_lowercase().starts_with("não informado"))
}

/// An e-mail only when it looks like one (buyers type anything into that box).
fn email(body: &Value, path: &str) -> Option<String> {
    given(body, path).filter(|s| s.contains('@'))
}

/// The v2.0 body: `order`, `item`, `customer`, `transaction`, `subscriptions`, `tracking`.
fn read_order(body: &Value, draft: &mut Draft) {
    let e = &mut draft.event;
    e.order_id = first_text(body, &["order.id", "order.hash"]);
    e.occurred_at = timestamp(body, "status_date").or_else(|| timestamp(body, "order.order_date"));
    e.customer.name = given(body, "customer.name");
    e.customer.email = email(body, "customer.email");
    e.customer.document = given(body, "customer.cpf").or_else(|| given(body, "customer.cnpj"));
    if let Some(name) = given(body, "item.product_name") {
        e.products.push(Product {
            name,
            id: text(body, "item.product_id"),
            quantity: int(body, "item.quantity").and_then(|q| u32::try_from(q).ok()),
            // item.amount is in cents, like order.paid_amount.
            price_cents: super::common::cents(body, "item.amount"),
            image_url: None,
        });
    }
    if let Some(Value::Array(bumps)) = at(body, "bumps") {
        for bump in bumps {
            if let Some(name) = given(bump, "product_name") {
                e.products.push(Product {
                    name,
                    id: text(bump, "product_id"),
                    quantity: Some(1),
                    // Order bumps quote offer_price in reais ("17.90").
                    price_cents: reais(bump, "offer_price"),
                    image_url: None,
                });
            }
        }
    }
    e.total_cents = super::common::cents(body, "order.paid_amount");
    e.currency = text(body, "customer.country.currency");
    let p = &mut e.payment;
    p.method = text(body, "payment_method").map(|m| match m.as_str() {
        "credit_card" => PaymentMethod::CreditCard,
        "pix" => PaymentMethod::Pix,
        "bank_slip" => PaymentMethod::Boleto,
        _ => PaymentMethod::Other,
    });
    p.boleto_url = first_text(
        body,
        &["transaction.bank_slip_url", "transaction.bank_slip_pdf"],
    );
    p.boleto_barcode = text(body, "transaction.bank_slip_code");
    // The boleto itself as a PDF (Adyen's generator), beside the checkout page above.
    p.boleto_pdf_url = text(body, "transaction.bank_slip_pdf");
    p.pix_code = text(body, "transaction.pix_qr_code");
    // pix_url is Ticto's page that shows the QR code and the copy-paste code.
    p.pix_qr_url = text(body, "transaction.pix_url");
    p.checkout_url = text(body, "checkout_url");
    p.installments = int(body, "order.installments").and_then(|n| u32::try_from(n).ok());
    let s = &mut e.subscription;
    s.id = text(body, "subscriptions.0.id");
    s.next_charge_at = timestamp(body, "subscriptions.0.next_charge");
    if s.id.is_some() {
        s.plan = given(body, "item.offer_name");
    }
    let u = &mut e.utm;
    u.source = given(body, "tracking.utm_source");
    u.medium = given(body, "tracking.utm_medium");
    u.campaign = given(body, "tracking.utm_campaign");
    u.content = given(body, "tracking.utm_content");
    u.term = given(body, "tracking.utm_term");
    // customer.phone is the structured one; the top-level copies are the fallback.
    draft.phone_parts(
        given(body, "customer.phone.ddi"),
        given(body, "customer.phone.ddd"),
        given(body, "customer.phone.number"),
    );
    draft.phone_parts(
        given(body, "phone_local_code_customer"),
        None,
        given(body, "phone_number_customer"),
    );
    draft.phone(given(body, "telefone"));
}

/// The abandoned-cart body is flat: name, email, phone, document, product at the top level.
fn read_flat_cart(body: &Value, draft: &mut Draft) {
    let e = &mut draft.event;
    e.occurred_at = timestamp(body, "created_at");
    e.customer.name = given(body, "name");
    e.customer.email = email(body, "email");
    e.customer.document = given(body, "document");
    if let Some(name) = given(body, "product_name") {
        e.products.push(Product {
            name,
            id: text(body, "product_id"),
            ..Product::default()
        });
    }
    e.payment.checkout_url = text(body, "checkout_url");
    draft.phone(given(body, "phone"));
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
        recognise(Platform::Ticto, &Request::new(body.as_bytes(), &[], "")).remove(0)
    }

    #[test]
    fn ticto_token_must_match_the_store_secret() {
        let body = br#"{"status":"authorized","token":"s3cret"}"#;
        let req = Request::new(body, &[], "");
        assert_eq!(verify("s3cret", &req), Ok(()));
        assert_eq!(verify("other", &req), Err(SignatureError::Mismatch));
        let none = Request::new(br#"{"status":"authorized"}"#, &[], "");
        assert_eq!(
            verify("s3cret", &none),
            Err(SignatureError::Missing("token"))
        );
        let junk = Request::new(b"not json", &[], "");
        assert!(verify("s3cret", &junk).is_err());
    }

    #[test]
    fn ticto_every_documented_status_has_its_kind() {
        use EventKind::*;
        let table: &[(&str, Option<EventKind>)] = &[
            ("abandoned_cart", Some(CheckoutAbandoned)),
            ("authorized", Some(OrderPaid)),
            ("bank_slip_created", Some(BoletoGenerated)),
            ("bank_slip_delayed", Some(PaymentOverdue)),
            ("chargeback", Some(OrderChargeback)),
            ("claimed", Some(OrderChargeback)),
            ("close", None),
            ("pix_created", Some(PixGenerated)),
            ("pix_expired", Some(PaymentExpired)),
            ("refunded", Some(OrderRefunded)),
            ("refused", Some(PaymentRefused)),
            ("trial", None),
            ("waiting_payment", Some(PaymentInReview)),
            ("all_charges_paid", None),
            ("card_exchanged", None),
            ("extended", None),
            ("subscription_canceled", Some(SubscriptionCanceled)),
            ("subscription_delayed", Some(SubscriptionOverdue)),
            ("trial_started", None),
            ("trial_ended", None),
            ("uncanceled", None),
        ];
        for (status, kind) in table {
            assert_eq!(kind_of(status, Some("credit_card")), *kind, "{status}");
        }
        assert_eq!(kind_of("waiting_payment", Some("pix")), Some(PixGenerated));
        assert_eq!(
            kind_of("waiting_payment", Some("bank_slip")),
            Some(BoletoGenerated)
        );
        assert_eq!(kind_of("waiting_payment", None), None);
    }

    #[test]
    fn ticto_unknown_status_is_unmapped_under_its_own_name() {
        let r = read(
            r#"{"status":"brand_new","customer":{"phone":{"ddd":"11","number":"987654321"}}}"#,
        );
        assert_eq!(r.status, Status::Unmapped);
        assert_eq!(r.event.expect("event").platform_event, "brand_new");
    }

    #[test]
    fn ticto_body_without_status_is_an_unknown_shape() {
        let r = read(r#"{"order":{"id":1}}"#);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::UnknownShape);
    }

    #[test]
    fn ticto_wrong_types_make_facts_absent() {
        let r = read(
            r#"{"status":"authorized","order":{"id":{"x":1},"paid_amount":"lots"},
               "item":[1],"bumps":"none","subscriptions":{},"payment_method":7,
               "customer":{"name":["a"],"phone":{"ddd":"11","number":"98765432l"}}}"#,
        );
        let e = r.event.expect("event");
        assert_eq!(e.order_id, None);
        assert_eq!(e.total_cents, None);
        assert!(e.products.is_empty());
        assert_eq!(r.reason.expect("reason").code, ReasonCode::BadPhone);
    }

    #[test]
    fn ticto_flat_cart_with_placeholder_phone_has_no_phone() {
        let r = read(
            r#"{"status":"abandoned_cart","phone":"Não informado","name":"Ana Souza",
               "email":"ana","product_name":"Curso","checkout_url":"https://x/y"}"#,
        );
        assert_eq!(r.reason.expect("reason").code, ReasonCode::NoPhone);
        let e = r.event.expect("event");
        assert_eq!(e.kind, Some(EventKind::CheckoutAbandoned));
        assert_eq!(e.customer.email, None);
        assert_eq!(e.payment.checkout_url.as_deref(), Some("https://x/y"));
    }
}
