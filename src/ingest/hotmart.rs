//! Hotmart webhook 2.0: reads the `{id, creation_date, event, data}` envelope into one event and
//! checks the static `hottok`. Uses only the shared path helpers.

use serde_json::Value;

use super::common::{at, first_text, int, reais, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Hotmart's event names and their canonical kinds. `None`: known, but no message kind.
/// PURCHASE_BILLET_PRINTED, PURCHASE_CANCELED and PURCHASE_APPROVED are refined in [`kind`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    (
        "PURCHASE_OUT_OF_SHOPPING_CART",
        Some(EventKind::CheckoutAbandoned),
    ),
    ("PURCHASE_BILLET_PRINTED", Some(EventKind::BoletoGenerated)),
    ("PURCHASE_APPROVED", Some(EventKind::OrderPaid)),
    ("PURCHASE_COMPLETE", Some(EventKind::OrderCompleted)),
    ("PURCHASE_CANCELED", Some(EventKind::OrderCanceled)),
    ("PURCHASE_REFUNDED", Some(EventKind::OrderRefunded)),
    ("PURCHASE_CHARGEBACK", Some(EventKind::OrderChargeback)),
    // A protest is a buyer's dispute opened with Hotmart: the chargeback family.
    ("PURCHASE_PROTEST", Some(EventKind::OrderChargeback)),
    ("PURCHASE_EXPIRED", Some(EventKind::PaymentExpired)),
    ("PURCHASE_DELAYED", Some(EventKind::PaymentOverdue)),
    (
        "SUBSCRIPTION_CANCELLATION",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Plan switches and charge-date moves are account changes, not buyer messages.
    ("SWITCH_PLAN", None),
    ("UPDATE_SUBSCRIPTION_CHARGE_DATE", None),
    ("CLUB_FIRST_ACCESS", Some(EventKind::AccessGranted)),
    ("CLUB_MODULE_COMPLETED", None),
    // Logistics of a physical product's order (developers.hotmart.com/docs/en/2.0.0/webhook/
    // order-fulfillment-webhook/: shipping type and fulfilment partner). No body of it was found
    // in any source read, so nothing says it carries a tracking code or a shipped state: read,
    // not messaged, rather than guessed as "pedido enviado".
    ("ORDER_FULFILLMENT", None),
];

/// Reads one Hotmart delivery.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = super::common::body_value(req)?;
    let name = text(&body, "event").ok_or_else(|| {
        ParseError::UnknownShape(
            "a Hotmart webhook has an `event` field; this body has none".into(),
        )
    })?;
    let data = at(&body, "data").filter(|d| d.is_object()).unwrap_or(&body);
    let purchase = at(data, "purchase").unwrap_or(&Value::Null);
    let pay = at(purchase, "payment").unwrap_or(&Value::Null);

    let mut draft = Draft::new(name.as_str());
    draft.delivery_id = text(&body, "id");
    let ev = &mut draft.event;
    ev.event_id = draft.delivery_id.clone();
    ev.kind = kind(&name, purchase);
    ev.occurred_at = timestamp(&body, "creation_date").or_else(|| timestamp(&body, "creationDate"));
    ev.order_id = text(purchase, "transaction");

    let person = ["buyer", "subscriber", "user"]
        .into_iter()
        .find_map(|p| at(data, p).filter(|v| v.is_object()))
        .unwrap_or(&Value::Null);
    ev.customer.name = text(person, "name");
    ev.customer.email = text(person, "email");
    // The anonymiser wrote letters into some documents: a CPF/CNPJ is digits and punctuation.
    ev.customer.document = text(person, "document").filter(|d| {
        d.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '/' | ' '))
    });

    if let Some(name) = text(data, "product.name") {
        ev.products.push(Product {
            name,
            id: text(data, "product.id"),
            quantity: Some(1),
            price_cents: reais(purchase, "price.value"),
            image_url: None,
        });
    }
    // `price` is what the buyer pays for the offer; `full_price` adds card-installment interest.
    ev.total_cents = reais(purchase, "price.value").or_else(|| reais(purchase, "full_price.value"));
    ev.currency = first_text(
        purchase,
        &["price.currency_value", "full_price.currency_value"],
    );

    let p = &mut ev.payment;
    p.method = text(pay, "type").map(|t| method(&t));
    p.boleto_url = text(pay, "billet_url");
    p.boleto_barcode = text(pay, "billet_barcode");
    p.pix_code = text(pay, "pix_code");
    p.pix_qr_url = text(pay, "pix_qrcode");
    p.due_at =
        timestamp(pay, "pix_expiration_date").or_else(|| timestamp(pay, "billet_expiration_date"));
    p.refusal_reason = text(pay, "refusal_reason").or_else(|| text(purchase, "refusal_reason"));
    p.installments = int(pay, "installments_number").and_then(|n| u32::try_from(n).ok());

    // The anonymised real deliveries turned `data.subscription` into a string: objects only.
    let sub = at(data, "subscription")
        .filter(|s| s.is_object())
        .unwrap_or(&Value::Null);
    ev.subscription.id =
        first_text(sub, &["subscriber.code"]).or_else(|| text(data, "subscriber.code"));
    ev.subscription.plan = text(sub, "plan.name");
    ev.subscription.status = text(sub, "status");
    ev.subscription.next_charge_at =
        timestamp(purchase, "date_next_charge").or_else(|| timestamp(data, "date_next_charge"));

    if ev.kind == Some(EventKind::AccessGranted) {
        ev.access.login = text(data, "user.email");
    }
    let origin = at(purchase, "origin").unwrap_or(&Value::Null);
    ev.utm.source = text(origin, "src");
    ev.utm.campaign = text(origin, "sck");
    ev.utm.content = text(origin, "xcod");

    set_phone(&mut draft, person);
    Ok(vec![draft])
}

/// The canonical kind of one delivery: the event name, refined by the purchase facts Hotmart
/// puts beside it.
fn kind(name: &str, purchase: &Value) -> Option<EventKind> {
    let base = EVENTS
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, k)| *k)?;
    Some(match base {
        // Hotmart reports a generated PIX under the boleto event name.
        EventKind::BoletoGenerated if text(purchase, "payment.type").as_deref() == Some("PIX") => {
            EventKind::PixGenerated
        }
        // A cancellation with a refusal reason is a declined card, not a merchant's cancel.
        EventKind::OrderCanceled
            if text(purchase, "payment.refusal_reason").is_some()
                || text(purchase, "refusal_reason").is_some() =>
        {
            EventKind::PaymentRefused
        }
        // Later charges of a subscription arrive as approvals with a growing recurrence number.
        EventKind::OrderPaid if int(purchase, "recurrence_number").is_some_and(|n| n > 1) => {
            EventKind::SubscriptionRenewed
        }
        other => other,
    })
}

fn method(kind: &str) -> PaymentMethod {
    match kind {
        "BILLET" => PaymentMethod::Boleto,
        "PIX" => PaymentMethod::Pix,
        "CREDIT_CARD" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    }
}

/// Hotmart's `checkout_phone` is usually complete; `checkout_phone_code` is the area code only
/// when it is short (test data puts nine 9s there, which must not be prefixed).
fn set_phone(draft: &mut Draft, person: &Value) {
    let phone = text(person, "checkout_phone");
    let code = text(person, "checkout_phone_code")
        .filter(|c| c.len() <= 3 && c.chars().all(|ch| ch.is_ascii_digit()));
    match (code, phone) {
        (Some(code), Some(phone)) => draft.phone_parts(None, Some(code), Some(phone)),
        (None, phone) => draft.phone(phone),
        (Some(_), None) => {}
    }
    draft.phone(text(person, "phone"));
}

/// Hotmart sends the store's hottok in a header; older and test deliveries put it in the body.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let from_body = || {
        super::common::body_value(req)
            .ok()
            .and_then(|b| text(&b, "hottok"))
    };
    match req.header("x-hotmart-hottok") {
        Some(sent) => check_token(Some(sent), secret, "X-HOTMART-HOTTOK header"),
        None => check_token(from_body().as_deref(), secret, "hottok"),
    }
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{Status, recognise};

    fn read(body: &str) -> Vec<crate::ingest::Reading> {
        recognise(Platform::Hotmart, &Request::new(body.as_bytes(), &[], ""))
    }

    fn body(event: &str, purchase: &str) -> String {
        format!(
            r#"{{"id":"e1","event":"{event}","data":{{"buyer":{{"name":"Ana Souza","checkout_phone":"11987654321"}},"purchase":{purchase}}}}}"#
        )
    }

    #[test]
    fn every_documented_event_name_has_a_decided_kind() {
        let want = [
            ("PURCHASE_OUT_OF_SHOPPING_CART", Some("checkout.abandoned")),
            ("PURCHASE_BILLET_PRINTED", Some("boleto.generated")),
            ("PURCHASE_APPROVED", Some("order.paid")),
            ("PURCHASE_COMPLETE", Some("order.completed")),
            ("PURCHASE_CANCELED", Some("order.canceled")),
            ("PURCHASE_REFUNDED", Some("order.refunded")),
            ("PURCHASE_CHARGEBACK", Some("order.chargeback")),
            ("PURCHASE_PROTEST", Some("order.chargeback")),
            ("PURCHASE_EXPIRED", Some("payment.expired")),
            ("PURCHASE_DELAYED", Some("payment.overdue")),
            ("SUBSCRIPTION_CANCELLATION", Some("subscription.canceled")),
            ("SWITCH_PLAN", None),
            ("UPDATE_SUBSCRIPTION_CHARGE_DATE", None),
            ("CLUB_FIRST_ACCESS", Some("access.granted")),
            ("CLUB_MODULE_COMPLETED", None),
            ("ORDER_FULFILLMENT", None),
        ];
        assert_eq!(want.len(), EVENTS.len());
        for (name, kind) in want {
            let readings = read(&body(name, "{}"));
            let event = readings[0].event.as_ref().expect("event");
            assert_eq!(event.kind.and_then(EventKind::static_str), kind, "{name}");
            assert_eq!(event.platform_event, name);
        }
    }

    #[test]
    fn billet_printed_with_pix_is_a_pix_and_refusals_are_refused_payments() {
        let pix = read(&body(
            "PURCHASE_BILLET_PRINTED",
            r#"{"payment":{"type":"PIX","pix_code":"000201"}}"#,
        ));
        let event = pix[0].event.as_ref().expect("event");
        assert_eq!(event.kind, Some(EventKind::PixGenerated));
        assert_eq!(event.payment.pix_code.as_deref(), Some("000201"));
        let refused = read(&body(
            "PURCHASE_CANCELED",
            r#"{"payment":{"refusal_reason":"Saldo"}}"#,
        ));
        assert_eq!(
            refused[0].event.as_ref().expect("event").kind,
            Some(EventKind::PaymentRefused)
        );
        let renewal = read(&body("PURCHASE_APPROVED", r#"{"recurrence_number":3}"#));
        assert_eq!(
            renewal[0].event.as_ref().expect("event").kind,
            Some(EventKind::SubscriptionRenewed)
        );
    }

    #[test]
    fn a_short_phone_code_is_the_area_code() {
        let b = r#"{"event":"PURCHASE_APPROVED","data":{"buyer":{"checkout_phone_code":"21","checkout_phone":"98765-4321"}}}"#;
        let readings = read(b);
        let phone = readings[0]
            .event
            .as_ref()
            .and_then(|e| e.customer.phone.clone());
        assert_eq!(
            phone.map(|p| p.to_string()).as_deref(),
            Some("+5521987654321")
        );
    }

    #[test]
    fn wrong_types_make_facts_absent_and_a_missing_event_is_an_unknown_shape() {
        let b = r#"{"event":"PURCHASE_APPROVED","data":{"buyer":{"checkout_phone":["x"],"name":{}},"purchase":{"price":"abc","transaction":[1]},"product":7}}"#;
        let readings = read(b);
        assert_eq!(readings[0].status, Status::Invalid);
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(
            (
                event.order_id.as_ref(),
                event.total_cents,
                event.products.len()
            ),
            (None, None, 0)
        );
        let missing = read(r#"{"data":{}}"#);
        assert_eq!(
            missing[0].reason.as_ref().map(|r| r.code),
            Some(crate::ingest::ReasonCode::UnknownShape)
        );
        assert!(read(r#"{"event":42}"#)[0].event.is_some());
    }

    #[test]
    fn hottok_header_must_match_the_store_secret() {
        let headers = vec![("X-HOTMART-HOTTOK".to_owned(), "s3cret".to_owned())];
        assert_eq!(verify("s3cret", &Request::new(b"{}", &headers, "")), Ok(()));
        assert_eq!(
            verify("other", &Request::new(b"{}", &headers, "")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn hottok_in_the_body_is_accepted_when_the_header_is_absent() {
        let body = br#"{"event":"PURCHASE_APPROVED","hottok":"s3cret"}"#;
        assert_eq!(verify("s3cret", &Request::new(body, &[], "")), Ok(()));
        assert_eq!(
            verify("x", &Request::new(body, &[], "")),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify("s3cret", &Request::new(b"{}", &[], "")),
            Err(SignatureError::Missing(_))
        ));
    }
}
