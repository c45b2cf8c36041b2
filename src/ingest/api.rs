//! avisa's own JSON format for custom integrations (docs/API.md): the body is the normalised
//! event itself, one object or `{"events": [...]}`; checks the Bearer / X-Avisa-Token secret.

use std::collections::BTreeMap;

use serde_json::Value;

use super::common::{at, body_value, first_text, int, list, table_kind, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::custom_kind::{CustomKind, MAX_VAR_NAME, is_var_name};
use crate::domain::{EventKind, PaymentMethod, Product};

/// The most events one request may carry; more is a misuse, refused whole.
const MAX_EVENTS: usize = 100;

/// The most free variables (`vars`) one event may carry, and the longest value (characters).
pub const MAX_VARS: usize = 50;
pub const MAX_VAR_CHARS: usize = 2_000;

/// The `kind` names (docs/API.md): every canonical kind by its own name. A `custom.<name>` kind
/// of the merchant's is read too (see [`event`]).
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("checkout.abandoned", Some(EventKind::CheckoutAbandoned)),
    ("boleto.generated", Some(EventKind::BoletoGenerated)),
    ("pix.generated", Some(EventKind::PixGenerated)),
    ("payment.in_review", Some(EventKind::PaymentInReview)),
    ("payment.refused", Some(EventKind::PaymentRefused)),
    ("payment.overdue", Some(EventKind::PaymentOverdue)),
    ("payment.expired", Some(EventKind::PaymentExpired)),
    ("order.paid", Some(EventKind::OrderPaid)),
    ("order.completed", Some(EventKind::OrderCompleted)),
    ("order.canceled", Some(EventKind::OrderCanceled)),
    ("order.refunded", Some(EventKind::OrderRefunded)),
    ("order.chargeback", Some(EventKind::OrderChargeback)),
    ("order.shipped", Some(EventKind::OrderShipped)),
    (
        "shipping.out_for_delivery",
        Some(EventKind::ShippingOutForDelivery),
    ),
    (
        "shipping.awaiting_pickup",
        Some(EventKind::ShippingAwaitingPickup),
    ),
    ("shipping.delivered", Some(EventKind::ShippingDelivered)),
    ("shipping.problem", Some(EventKind::ShippingProblem)),
    ("subscription.started", Some(EventKind::SubscriptionStarted)),
    ("subscription.renewed", Some(EventKind::SubscriptionRenewed)),
    ("subscription.overdue", Some(EventKind::SubscriptionOverdue)),
    (
        "subscription.canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
    ("access.granted", Some(EventKind::AccessGranted)),
];

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
    // A custom kind (`custom.aniversario`) is read here whether or not the merchant created it;
    // storage holds one it does not know as unmapped (`db::custom_kinds`).
    ev.kind = table_kind(EVENTS, &name).or_else(|| CustomKind::parse(&name).map(EventKind::Custom));
    ev.vars = vars(v)?;
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

/// The free variables of a custom kind: `{"vars": {"link": "https://…", "vagas": 30}}`. Text,
/// numbers and true/false are kept as text; `null` is absent; anything else is refused, with the
/// variable's name.
pub fn vars(v: &Value) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let object = match at(v, "vars") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Object(object)) => object,
        Some(_) => return Err("`vars` must be an object of name: value".into()),
    };
    if object.len() > MAX_VARS {
        return Err(format!("at most {MAX_VARS} vars, got {}", object.len()));
    }
    for (name, value) in object {
        if !is_var_name(name) {
            return Err(format!(
                "vars: `{name}` is not a variable name (a-z, 0-9 and _, starting with a letter, \
                 at most {MAX_VAR_NAME} characters)"
            ));
        }
        let value = match value {
            Value::Null => continue,
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(format!("vars.{name} must be text, a number or true/false")),
        };
        if value.chars().count() > MAX_VAR_CHARS {
            return Err(format!(
                "vars.{name} is longer than {MAX_VAR_CHARS} characters"
            ));
        }
        out.insert(name.clone(), value);
    }
    Ok(out)
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
        // …and the table (the Integrações page's) names nothing else.
        assert_eq!(EVENTS.len(), EventKind::ALL.len());
    }

    #[test]
    fn an_unknown_kind_is_unmapped_under_its_own_name() {
        let readings = read(r#"{"kind":"order.teleported","customer":{"phone":"11987654321"}}"#);
        assert_eq!(readings[0].status, Status::Unmapped);
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(event.platform_event, "order.teleported");
    }

    #[test]
    fn a_custom_kind_carries_the_lead_and_its_vars() {
        let body = r#"{"kind":"custom.aviso-de-live","occurred_at":"2026-12-07T12:00:00Z",
            "customer":{"name":"Ana Souza","email":"ana@example.com","phone":"11987654321"},
            "vars":{"link":" https://live.example/x ","vagas":30,"gratis":true,"cupom":null}}"#;
        let readings = read(body);
        assert_eq!(readings[0].status, Status::Ok);
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(
            event.kind.map(|k| k.as_str().to_owned()).as_deref(),
            Some("custom.aviso-de-live")
        );
        assert_eq!(event.customer.first_name.as_deref(), Some("Ana"));
        assert_eq!(event.customer.email.as_deref(), Some("ana@example.com"));
        let vars: Vec<(&str, &str)> = event
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            vars,
            [
                ("gratis", "true"),
                ("link", "https://live.example/x"),
                ("vagas", "30")
            ]
        );
        // Another live (other vars, another time) is another event, not a duplicate.
        let other = body.replace("/x ", "/y ").replace("12:00", "18:00");
        let other = read(&other);
        assert_ne!(
            other[0].event.as_ref().expect("event").dedup_key,
            event.dedup_key
        );
    }

    #[test]
    fn bad_vars_are_refused_with_the_name() {
        let why = |vars: &str| {
            let body = format!(r#"{{"kind":"custom.niver","phone":"11987654321","vars":{vars}}}"#);
            read(&body)[0]
                .reason
                .as_ref()
                .map(|r| (r.code, r.detail.clone()))
                .expect("a reason")
        };
        for (vars, says) in [
            (r#"{"Nome":"x"}"#, "`Nome` is not a variable name"),
            (r#"{"a":{"b":1}}"#, "vars.a must be text"),
            (r#"[1]"#, "`vars` must be an object"),
        ] {
            let (code, detail) = why(vars);
            assert_eq!(code, ReasonCode::UnknownShape, "{vars}");
            assert!(detail.contains(says), "{detail} should say {says}");
        }
        let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_VAR_CHARS + 1));
        assert!(why(&long).1.contains("longer than"));
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
