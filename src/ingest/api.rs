//! avisa's own JSON format for custom integrations (docs/API.md): the body is the normalised
//! event itself, one object or `{"events": [...]}`; checks the Bearer / X-Avisa-Token secret.

use serde_json::Value;

use super::common::{at, body_value, first_text, int, list, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// The most events one request may carry; more is a misuse, refused whole.
const MAX_EVENTS: usize = 100;

/// Reads one delivery: a single event object, or several under `events`.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let objects: Vec<&Value> = match at(&body, "events") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(_) => {
            return Err(ParseError::UnknownShape(
                "`events` must be an array of event objects".into(),
            ));
        }
        None => vec![&body],
    };
    if objects.len() > MAX_EVENTS {
        return Err(ParseError::UnknownShape(format!(
            "at most {MAX_EVENTS} events per request, got {}",
            objects.len()
        )));
    }
    objects
        .into_iter()
        .enumerate()
        .map(|(i, v)| event(v).map_err(|why| ParseError::UnknownShape(format!("event {i}: {why}"))))
        .collect()
}

/// One event object.
fn event(v: &Value) -> Result<Draft, String> {
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let name = text(v, "kind").ok_or("`kind` is required (e.g. \"order.paid\")")?;
    let mut draft = Draft::new(name.as_str());
    draft.delivery_id = text(v, "event_id");
    let ev = &mut draft.event;
    ev.kind = EventKind::parse(&name);
    ev.event_id = draft.delivery_id.clone();
    ev.order_id = text(v, "order_id");
    ev.occurred_at = timestamp(v, "occurred_at");
    ev.customer.name = text(v, "customer.name");
    ev.customer.email = text(v, "customer.email");
    ev.customer.document = text(v, "customer.document");
    for item in list(v, "products") {
        if let Some(name) = text(item, "name") {
            ev.products.push(Product {
                name,
                id: text(item, "id"),
                quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                price_cents: int(item, "price_cents"),
                image_url: text(item, "image_url"),
            });
        }
    }
    ev.total_cents = int(v, "total_cents");
    ev.currency = text(v, "currency").map(|c| c.to_ascii_uppercase());

    let p = &mut ev.payment;
    p.method = text(v, "payment.method").map(|m| method(&m));
    p.boleto_url = text(v, "payment.boleto_url");
    p.boleto_pdf_url = text(v, "payment.boleto_pdf_url");
    p.boleto_barcode = text(v, "payment.boleto_barcode");
    p.pix_code = text(v, "payment.pix_code");
    p.pix_qr_url = text(v, "payment.pix_qr_url");
    // A due date may be a plain date or an instant: keep dates as dates.
    p.due_at = timestamp(v, "payment.due_at");
    p.checkout_url = text(v, "payment.checkout_url");
    p.refusal_reason = text(v, "payment.refusal_reason");
    p.installments = int(v, "payment.installments").and_then(|n| u32::try_from(n).ok());

    ev.shipping.tracking_code = text(v, "shipping.tracking_code");
    ev.shipping.tracking_url = text(v, "shipping.tracking_url");
    ev.shipping.carrier = text(v, "shipping.carrier");
    ev.subscription.id = text(v, "subscription.id");
    ev.subscription.plan = text(v, "subscription.plan");
    ev.subscription.status = text(v, "subscription.status");
    ev.subscription.next_charge_at = timestamp(v, "subscription.next_charge_at");
    ev.access.url = text(v, "access.url");
    ev.access.login = text(v, "access.login");
    ev.utm.source = text(v, "utm.source");
    ev.utm.medium = text(v, "utm.medium");
    ev.utm.campaign = text(v, "utm.campaign");
    ev.utm.content = text(v, "utm.content");
    ev.utm.term = text(v, "utm.term");

    draft.phone(first_text(v, &["customer.phone", "phone"]));
    Ok(draft)
}

fn method(name: &str) -> PaymentMethod {
    match name.to_ascii_lowercase().as_str() {
        "boleto" => PaymentMethod::Boleto,
        "pix" => PaymentMethod::Pix,
        "credit_card" | "card" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    }
}

/// The store's secret as `Authorization: Bearer <secret>` or the `X-Avisa-Token` header.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let bearer = req.header("authorization").map(|h| {
        let h = h.trim();
        match h.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => &h[7..],
            _ => h,
        }
    });
    let sent = bearer.or_else(|| req.header("x-avisa-token"));
    check_token(
        sent,
        secret,
        "Authorization: Bearer header or X-Avisa-Token",
    )
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{Reading, ReasonCode, Status, recognise};

    fn read(body: &str) -> Vec<Reading> {
        recognise(Platform::Api, &Request::new(body.as_bytes(), &[], ""))
    }

    #[test]
    fn every_canonical_kind_is_accepted_by_its_wire_name() {
        for kind in EventKind::ALL {
            let body = format!(r#"{{"kind":"{kind}","customer":{{"phone":"11987654321"}}}}"#);
            let readings = read(&body);
            assert_eq!(readings[0].status, Status::Ok, "{kind}");
            assert_eq!(readings[0].event.as_ref().and_then(|e| e.kind), Some(kind));
        }
    }

    #[test]
    fn an_unknown_kind_is_unmapped_under_its_own_name() {
        let readings = read(r#"{"kind":"order.teleported","customer":{"phone":"11987654321"}}"#);
        assert_eq!(readings[0].status, Status::Unmapped);
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(event.platform_event, "order.teleported");
    }

    #[test]
    fn several_events_in_one_request_become_several_readings() {
        let body = r#"{"events":[
            {"kind":"order.paid","event_id":"a1","customer":{"phone":"11987654321"}},
            {"kind":"order.shipped","event_id":"a2","customer":{"phone":"bad-phone"},
             "shipping":{"tracking_code":"AA1BR"}}]}"#;
        let readings = read(body);
        assert_eq!(readings.len(), 2);
        assert_eq!(readings[0].status, Status::Ok);
        assert_eq!(
            readings[1].reason.as_ref().map(|r| r.code),
            Some(ReasonCode::BadPhone)
        );
        let a = readings[0].event.as_ref().expect("event");
        let b = readings[1].event.as_ref().expect("event");
        assert_ne!(a.dedup_key, b.dedup_key);
    }

    #[test]
    fn odd_bodies_never_panic_and_say_why() {
        let code = |body: &str| read(body)[0].reason.as_ref().map(|r| r.code);
        assert_eq!(code(r#"{"order_id":"1"}"#), Some(ReasonCode::UnknownShape));
        assert_eq!(
            code(r#"{"events":{"kind":"order.paid"}}"#),
            Some(ReasonCode::UnknownShape)
        );
        assert_eq!(code(r#"{"events":[1]}"#), Some(ReasonCode::UnknownShape));
        assert_eq!(code(r#"{"events":[]}"#), Some(ReasonCode::UnknownShape));
        let odd = r#"{"kind":"order.paid","total_cents":"12.5","products":{"x":1},"payment":[]}"#;
        let readings = read(odd);
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!((event.total_cents, event.products.len()), (None, 0));
    }

    #[test]
    fn bearer_token_or_avisa_header_must_match_the_store_secret() {
        let with = |name: &str, value: &str| vec![(name.to_owned(), value.to_owned())];
        let ok = [
            with("Authorization", "Bearer s3cret"),
            with("authorization", "bearer s3cret"),
            with("X-Avisa-Token", "s3cret"),
        ];
        for headers in ok {
            assert_eq!(verify("s3cret", &Request::new(b"{}", &headers, "")), Ok(()));
        }
        let wrong = with("Authorization", "Bearer nope");
        assert_eq!(
            verify("s3cret", &Request::new(b"{}", &wrong, "")),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify("s3cret", &Request::new(b"{}", &[], "")),
            Err(SignatureError::Missing(_))
        ));
    }
}
