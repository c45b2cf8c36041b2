//! Eduzz: reads the new `{id, event, data, sentDate}` webhooks and the legacy Órbita postbacks
//! (`type` + `trans_status` codes, JSON or form) into one event; checks `x-signature` or the
//! legacy origin key. Uses the shared path helpers.

use serde_json::Value;

mod legacy;

use super::common::{at, body_value, first_text, int, list, reais, text, timestamp};
use super::signature::{check_hex, check_token, hmac_sha256};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// New-webhook event names. `None`: known, no message kind. Names whose kind depends on the
/// payment method or the contract status are refined in [`new_kind`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    (
        "myeduzz.cart_abandonment",
        Some(EventKind::CheckoutAbandoned),
    ),
    ("myeduzz.invoice_opened", Some(EventKind::BoletoGenerated)),
    (
        "myeduzz.invoice_waiting_payment",
        Some(EventKind::PaymentInReview),
    ),
    ("myeduzz.invoice_paid", Some(EventKind::OrderPaid)),
    ("myeduzz.invoice_refused", Some(EventKind::PaymentRefused)),
    ("myeduzz.invoice_overdue", Some(EventKind::PaymentOverdue)),
    // "Em recuperação": Eduzz is still chasing an unpaid invoice the buyer can pay.
    (
        "myeduzz.invoice_recovering",
        Some(EventKind::PaymentOverdue),
    ),
    ("myeduzz.invoice_expired", Some(EventKind::PaymentExpired)),
    ("myeduzz.invoice_canceled", Some(EventKind::OrderCanceled)),
    ("myeduzz.invoice_refunded", Some(EventKind::OrderRefunded)),
    // A refund only requested, a renegotiation or a scheduled charge: nothing to tell yet.
    ("myeduzz.invoice_waiting_refund", None),
    ("myeduzz.invoice_negotiated", None),
    ("myeduzz.invoice_negotiatied", None),
    ("myeduzz.invoice_scheduled", None),
    ("myeduzz.invoice_updated", None),
    (
        "myeduzz.contract_created",
        Some(EventKind::SubscriptionStarted),
    ),
    ("myeduzz.contract_updated", None),
    ("myeduzz.contract_status_updated", None),
    ("myeduzz.commission_processed", None),
    // The subscriptions group (eduzz/eduzz-webhook-docs events/myeduzz/subscriptions/*.md):
    // the same contract, `customer.phone` as "+55…". Created starts it; the updates are refined
    // by `contract.status` in [`new_kind`], like the myeduzz contract events.
    (
        "subscriptions.contract_created",
        Some(EventKind::SubscriptionStarted),
    ),
    ("subscriptions.contract_updated", None),
    ("subscriptions.contract_changed", None),
    ("subscriptions.contract_status_updated", None),
    ("subscriptions.status_updated", None),
];

/// The events of Eduzz's other applications on the same webhook (eduzz/eduzz-webhook-docs
/// README and events/{nutror,alpaclass,blinket}/*.md): Nutror and Alpaclass members areas
/// (enrolments, lessons, comments, certificates) and Blinket event tickets (attendances,
/// check-ins). Read, never messaged: their bodies name a learner or an attendee by name and
/// e-mail only (no phone, no order to take one from), and none is a step of a purchase (the sale
/// itself arrives as `myeduzz.invoice_*`). Nutror and Blinket names as the README lists them;
/// Alpaclass names as its pages' examples write them (the README does not list Alpaclass; three
/// of its pages, lesson_last_seen_at and lesson_(un)marked_as_favorite, show no name of their
/// own and are left out).
pub(super) const OTHER_APPS: &[(&str, Option<EventKind>)] = &[
    ("nutror.certificate_viewed", None),
    ("nutror.comment_created", None),
    ("nutror.community_viewed", None),
    ("nutror.enrollment_created", None),
    ("nutror.file_downloaded", None),
    ("nutror.inactive_student", None),
    ("nutror.learner_help", None),
    ("nutror.lesson_rated", None),
    ("nutror.lesson_saved", None),
    ("nutror.lesson_started", None),
    ("nutror.lesson_watched", None),
    ("nutror.module_completed", None),
    ("nutror.notation_created", None),
    ("blinket.attendance_added", None),
    ("blinket.attendance_assigned", None),
    ("blinket.attendance_canceled", None),
    ("blinket.attendance_edited", None),
    ("blinket.attendance_printed", None),
    ("blinket.attendances_printed", None),
    ("blinket.attendance_tag_changed", None),
    ("blinket.checkin", None),
    ("blinket.ticket_edited", None),
    ("alpaclass.student_access_certificate", None),
    ("alpaclass.student_access_course", None),
    ("alpaclass.student_certificate_accessed", None),
    ("alpaclass.student_comment_created", None),
    ("alpaclass.student_commented_on_lesson", None),
    ("alpaclass.student_completed_course", None),
    ("alpaclass.student_course_finished", None),
    ("alpaclass.student_course_last_seen_at", None),
    ("alpaclass.student_course_unfinished", None),
    ("alpaclass.student_created", None),
    ("alpaclass.student_finished_module", None),
    ("alpaclass.student_lesson_finished", None),
    ("alpaclass.student_lesson_unfinished", None),
    ("alpaclass.student_marked_lesson_as_favorite", None),
    ("alpaclass.student_marked_lesson_as_read", None),
    ("alpaclass.student_marked_lesson_as_watched", None),
    ("alpaclass.student_module_finished", None),
    ("alpaclass.student_module_unfinished", None),
];

/// Reads one Eduzz delivery.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    if let Some(name) = text(&body, "event") {
        let data = at(&body, "data").filter(|d| d.is_object()).unwrap_or(&NULL);
        let mut draft = new_event(data, name);
        draft.delivery_id = text(&body, "id");
        draft.event.event_id = draft.delivery_id.clone();
        draft.event.occurred_at = timestamp(&body, "sentDate").or(draft.event.occurred_at);
        return Ok(vec![draft]);
    }
    if ["type", "trans_status", "event_name"]
        .iter()
        .any(|k| at(&body, k).is_some())
    {
        return Ok(vec![legacy::read(&body)]);
    }
    // The docs' contract examples are the bare `data` object: readable, but the name is lost.
    if ["contract", "buyer", "customer"]
        .iter()
        .any(|k| at(&body, k).is_some_and(Value::is_object))
    {
        return Ok(vec![new_event(&body, "(no event name)".into())]);
    }
    Err(ParseError::UnknownShape(
        "an Eduzz webhook has `event` (or legacy `type`/`trans_status`); this body has neither"
            .into(),
    ))
}

/// What a missing object reads as: every path under it is absent.
static NULL: Value = Value::Null;

/// A new-format webhook's `data` object.
fn new_event(data: &Value, name: String) -> Draft {
    let mut draft = Draft::new(name.as_str());
    let method =
        first_text(data, &["paymentMethod", "contract.payment.method"]).map(|m| new_method(&m));
    let ev = &mut draft.event;
    ev.kind = new_kind(&name, method, data);
    ev.order_id = first_text(data, &["id", "invoiceId"]);
    ev.occurred_at = first_time(data, &["createdAt", "contract.updatedAt"]);
    let person = ["buyer", "customer"]
        .iter()
        .find_map(|p| at(data, p))
        .unwrap_or(&NULL);
    ev.customer.name = text(person, "name");
    ev.customer.email = text(person, "email");
    ev.customer.document = first_text(person, &["document", "taxNumber"]);
    for item in list(data, "items")
        .into_iter()
        .chain(list(data, "products"))
    {
        if let Some(name) = text(item, "name") {
            ev.products.push(Product {
                name,
                id: first_text(item, &["productId", "id"]),
                quantity: Some(1),
                price_cents: reais(item, "price.value"),
                image_url: None,
            });
        }
    }
    ev.total_cents =
        reais(data, "price.value").or_else(|| reais(data, "contract.recurrence.price.value"));
    ev.currency = first_text(
        data,
        &["price.currency", "contract.recurrence.price.currency"],
    );
    ev.payment.method = method;
    ev.payment.installments = int(data, "installments").and_then(|n| u32::try_from(n).ok());
    for (field, path) in [
        (&mut ev.utm.source, "utm.source"),
        (&mut ev.utm.medium, "utm.medium"),
        (&mut ev.utm.campaign, "utm.campaign"),
        (&mut ev.utm.content, "utm.content"),
        (&mut ev.utm.term, "utm.term"),
    ] {
        *field = text(data, path);
    }
    ev.subscription.id = text(data, "contract.id");
    ev.subscription.status = text(data, "contract.status");
    ev.subscription.next_charge_at = timestamp(data, "contract.recurrence.nextDue");
    ev.subscription.plan = text(data, "products.0.plan.name");
    // A structured phone (contracts) first, then the invoice buyer's mobile before landlines.
    if let Some(phone) = at(person, "phone").filter(|p| p.is_object()) {
        draft.phone_parts(
            text(phone, "countryCode"),
            text(phone, "areaCode"),
            text(phone, "number"),
        );
    }
    for path in ["cellphone", "phone", "phone2"] {
        draft.phone(text(person, path));
    }
    draft
}

fn new_kind(name: &str, method: Option<PaymentMethod>, data: &Value) -> Option<EventKind> {
    let base = EVENTS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
    match name {
        // An open or waiting invoice is a boleto or PIX to pay, or a card being processed.
        "myeduzz.invoice_opened" | "myeduzz.invoice_waiting_payment" => match method {
            Some(PaymentMethod::Pix) => Some(EventKind::PixGenerated),
            Some(PaymentMethod::Boleto) => Some(EventKind::BoletoGenerated),
            _ => base.flatten(),
        },
        "myeduzz.contract_updated"
        | "myeduzz.contract_status_updated"
        | "subscriptions.contract_updated"
        | "subscriptions.contract_changed"
        | "subscriptions.contract_status_updated"
        | "subscriptions.status_updated" => contract_kind(&text(data, "contract.status")?),
        _ => base.flatten(),
    }
}

/// A contract's status after an update, when it is something to tell the subscriber.
fn contract_kind(status: &str) -> Option<EventKind> {
    match status.to_ascii_lowercase().as_str() {
        "canceled" | "cancelled" => Some(EventKind::SubscriptionCanceled),
        "late" | "delayed" | "overdue" | "waitingpayment" | "suspended" => {
            Some(EventKind::SubscriptionOverdue)
        }
        _ => None,
    }
}

fn new_method(name: &str) -> PaymentMethod {
    match name.to_ascii_lowercase().as_str() {
        "creditcard" | "credit_card" | "card" => PaymentMethod::CreditCard,
        "bankslip" | "boleto" | "billet" => PaymentMethod::Boleto,
        "pix" => PaymentMethod::Pix,
        _ => PaymentMethod::Other,
    }
}

fn first_time(value: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| timestamp(value, p))
}

/// New webhooks sign the raw body (`x-signature`, hex HMAC-SHA256); legacy postbacks carry the
/// producer's static origin key in the body instead.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    if let Some(sent) = req.header("x-signature") {
        let expected = hmac_sha256(secret.trim().as_bytes(), req.body);
        return check_hex(Some(sent), &expected, "x-signature header");
    }
    let body = body_value(req).map_err(|_| SignatureError::Missing("x-signature header"))?;
    let sent: Vec<String> = ["origin", "origin_secret", "api_key"]
        .iter()
        .filter_map(|k| text(&body, k))
        .collect();
    // The merchant pastes whichever of the legacy keys Órbita showed them.
    if sent.is_empty() {
        return Err(SignatureError::Missing("x-signature header or origin key"));
    }
    sent.iter()
        .map(|s| check_token(Some(s), secret, "origin key"))
        .find(Result::is_ok)
        .unwrap_or(Err(SignatureError::Mismatch))
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{ReasonCode, recognise};

    fn kind(body: &str) -> Option<&'static str> {
        let readings = recognise(Platform::Eduzz, &Request::new(body.as_bytes(), &[], ""));
        readings[0]
            .event
            .as_ref()
            .and_then(|e| e.kind)
            .and_then(EventKind::static_str)
    }

    #[test]
    fn every_documented_new_event_name_has_a_decided_kind() {
        for (name, want) in EVENTS {
            let body = format!(r#"{{"id":"x","event":"{name}","data":{{}}}}"#);
            assert_eq!(kind(&body), want.and_then(EventKind::static_str), "{name}");
        }
        let pix = r#"{"event":"myeduzz.invoice_waiting_payment","data":{"paymentMethod":"pix"}}"#;
        assert_eq!(kind(pix), Some("pix.generated"));
        let late = r#"{"event":"myeduzz.contract_updated","data":{"contract":{"status":"late"}}}"#;
        assert_eq!(kind(late), Some("subscription.overdue"));
    }

    #[test]
    fn the_other_applications_events_are_read_and_never_messaged() {
        for (name, want) in OTHER_APPS {
            assert_eq!(*want, None, "{name}");
            let body = format!(
                r#"{{"id":"x","event":"{name}","data":{{"learner":{{"name":"Ana","email":"a@example.com"}}}}}}"#
            );
            let readings = recognise(Platform::Eduzz, &Request::new(body.as_bytes(), &[], ""));
            let event = readings[0].event.as_ref().expect("event");
            assert_eq!((event.kind, event.platform_event.as_str()), (None, *name));
        }
    }

    /// The documented subscriptions bodies (eduzz/eduzz-webhook-docs
    /// events/myeduzz/subscriptions/*.md), trimmed to what avisa reads.
    fn subscription_body(event: &str, status: &str) -> String {
        format!(
            r#"{{"id":"d4neemljy87rv3og472ag6hl","event":"{event}","sentDate":"2023-08-31T18:34:23.023Z",
            "data":{{"products":[{{"id":"1234","name":"Produto de assinatura","price":{{"currency":"BRL","value":10.0}}}}],
            "contract":{{"id":"3456","paymentMethod":"pix","status":"{status}",
              "recurrence":{{"nextDue":"2024-02-15T15:00:00.000Z","price":{{"currency":"BRL","value":10.0}}}}}},
            "customer":{{"name":"Teste QA Eduzz","email":"testeeduzzqa@eduzz.com","phone":"+5515999999999"}}}}}}"#
        )
    }

    #[test]
    fn subscriptions_events_start_and_follow_the_contract() {
        let created = subscription_body("subscriptions.contract_created", "upToDate");
        let readings = recognise(Platform::Eduzz, &Request::new(created.as_bytes(), &[], ""));
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(event.kind, Some(EventKind::SubscriptionStarted));
        assert_eq!(
            event.customer.phone.as_ref().map(|p| p.as_str()),
            Some("+5515999999999")
        );
        assert_eq!(event.subscription.id.as_deref(), Some("3456"));
        assert_eq!(event.total_cents, Some(1000));
        for name in [
            "subscriptions.contract_updated",
            "subscriptions.contract_changed",
            "subscriptions.contract_status_updated",
            "subscriptions.status_updated",
        ] {
            let waiting = subscription_body(name, "waitingPayment");
            assert_eq!(kind(&waiting), Some("subscription.overdue"), "{name}");
            let canceled = subscription_body(name, "canceled");
            assert_eq!(kind(&canceled), Some("subscription.canceled"), "{name}");
            let up_to_date = subscription_body(name, "upToDate");
            assert_eq!(kind(&up_to_date), None, "{name}");
        }
    }

    #[test]
    fn x_signature_must_be_the_hmac_of_the_raw_body() {
        let body = br#"{"event":"myeduzz.invoice_paid"}"#;
        let good = hex::encode(hmac_sha256(b"k3y", body));
        let headers = vec![("x-signature".to_owned(), good)];
        assert_eq!(verify("k3y", &Request::new(body, &headers, "")), Ok(()));
        assert_eq!(
            verify("other", &Request::new(body, &headers, "")),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify("k3y", &Request::new(body, &[], "")),
            Err(SignatureError::Missing(_))
        ));
    }

    #[test]
    fn legacy_origin_key_in_the_body_is_the_fallback() {
        let body = b"type=invoice&trans_status=3&origin=abc&api_key=zzz";
        assert_eq!(verify("abc", &Request::new(body, &[], "")), Ok(()));
        assert_eq!(
            verify("nope", &Request::new(body, &[], "")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn odd_bodies_never_panic_and_say_why() {
        let readings = recognise(Platform::Eduzz, &Request::new(br#"{"foo":1}"#, &[], ""));
        assert_eq!(
            readings[0].reason.as_ref().map(|r| r.code),
            Some(ReasonCode::UnknownShape)
        );
        let odd = br#"{"event":"myeduzz.invoice_paid","data":{"buyer":"x","price":{"value":"abc"},"items":{"a":1}}}"#;
        let readings = recognise(Platform::Eduzz, &Request::new(odd, &[], ""));
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!((event.total_cents, event.products.len()), (None, 0));
        let bad_date =
            br#"{"type":"invoice","trans_status":"3","trans_createdate":"2019","trans_value":[]}"#;
        let readings = recognise(Platform::Eduzz, &Request::new(bad_date, &[], ""));
        assert_eq!(
            readings[0]
                .event
                .as_ref()
                .and_then(|e| e.occurred_at.clone()),
            None
        );
    }
}
