//! PagBank's legacy transaction notifications, pure: only they are thin (a current order or
//! checkout notification is the resource), the call carries the account's e-mail and token in
//! the query string, and the XML answer (ISO-8859-1, the stand-in in
//! `tests/fixtures/enrich/pagbank-transaction.json`) is read into the event, status by status.
//! End to end on a data file with a loopback stand-in: `queue::enrich::enrich_tests`.

use super::enrich::{call, credential, merge, redact, target};
use super::enrich_tests::{fixture, read, stand_in, thin_bodies};
use super::{Request, SignatureError, Status, recognise, verify_signature};
use crate::domain::enrichment::ApiCredentials;
use crate::domain::{EventKind, PaymentMethod, Platform};

const TOKEN: &str = "A1B2C3D4E5F6+/token";

fn legacy() -> serde_json::Value {
    thin_bodies()
        .into_iter()
        .find(|(p, ..)| *p == Platform::Pagbank)
        .expect("the legacy notification")
        .1
}

fn credentials() -> ApiCredentials {
    let mut creds = ApiCredentials::token(TOKEN);
    creds.set("email", "loja@example.com".into());
    creds
}

/// The stand-in's transaction with `status` and `paymentMethod/type` changed.
fn transaction(status: &str, method: &str) -> Vec<u8> {
    let (_, answer) = stand_in("pagbank-transaction");
    let text: String = answer.iter().map(|&b| char::from(b)).collect();
    let text = text
        .replace("<status>1</status>", &format!("<status>{status}</status>"))
        .replace(
            "<type>2</type>\n        <code>202</code>",
            &format!("<type>{method}</type>\n        <code>0</code>"),
        );
    text.chars().map(|c| c as u8).collect()
}

#[test]
fn enrich_pagbank_only_legacy_notifications_are_thin() {
    let (raw, reading) = read(Platform::Pagbank, &legacy());
    assert_eq!(reading.status, Status::Unmapped);
    let event = reading.event.as_ref().expect("event");
    assert_eq!(event.platform_event, "transaction");
    assert_eq!(
        event.event_id.as_deref(),
        Some("766B9C-AD4B044B04DA-77742F5FA653-E1AB24"),
        "one event per notification"
    );
    assert_eq!(
        target(Platform::Pagbank, &Request::new(&raw, &[], ""), &reading).as_deref(),
        Some("/v3/transactions/notifications/766B9C-AD4B044B04DA-77742F5FA653-E1AB24")
    );
    for current in [
        "pagbank/order-PAID-pix-test.json",
        "pagbank/checkout-INACTIVE-test.json",
    ] {
        let body = fixture(current);
        let reading = recognise(Platform::Pagbank, &Request::new(&body, &[], "")).remove(0);
        assert_eq!(
            target(Platform::Pagbank, &Request::new(&body, &[], ""), &reading),
            None,
            "{current} is the resource itself"
        );
    }
    // A code that could change the path is not fetched.
    let (raw, reading) = read(
        Platform::Pagbank,
        &serde_json::Value::String("notificationCode=../../x&notificationType=transaction".into()),
    );
    assert_eq!(
        target(Platform::Pagbank, &Request::new(&raw, &[], ""), &reading),
        None
    );
}

#[test]
fn enrich_pagbank_two_legacy_codes_are_two_events_the_same_code_twice_is_one() {
    let key = |code: &str| {
        let form = format!("notificationCode={code}&notificationType=transaction");
        let (_, reading) = read(Platform::Pagbank, &serde_json::Value::String(form));
        reading.event.expect("event").dedup_key
    };
    let first = key("766B9C-AD4B044B04DA-77742F5FA653-E1AB24");
    assert_eq!(first, key("766B9C-AD4B044B04DA-77742F5FA653-E1AB24"));
    assert_ne!(first, key("00AA11-BB22CC33DD44-EE55FF667788-990011"));
}

#[test]
fn enrich_pagbank_legacy_notifications_need_no_signature_the_current_ones_do() {
    let (raw, _) = read(Platform::Pagbank, &legacy());
    assert_eq!(
        verify_signature(
            Platform::Pagbank,
            "store-secret",
            &Request::new(&raw, &[], ""),
            0
        ),
        Ok(())
    );
    let order = fixture("pagbank/order-PAID-pix-test.json");
    assert!(matches!(
        verify_signature(
            Platform::Pagbank,
            "store-secret",
            &Request::new(&order, &[], ""),
            0
        ),
        Err(SignatureError::Missing(_))
    ));
}

#[test]
fn enrich_pagbank_calls_with_the_email_and_token_in_the_query_and_never_keeps_the_token() {
    let fields: Vec<_> = credential(Platform::Pagbank)
        .expect("PagBank says what it needs")
        .fields
        .iter()
        .map(|f| (f.name, f.secret))
        .collect();
    assert_eq!(fields, [("email", false), ("token", true)]);
    let path = "/v3/transactions/notifications/766B9C-AD4B044B04DA-77742F5FA653-E1AB24";
    let (url, headers) = call(Platform::Pagbank, path, &credentials(), None, None).expect("a call");
    assert_eq!(
        url,
        "https://ws.pagseguro.uol.com.br/v3/transactions/notifications/\
         766B9C-AD4B044B04DA-77742F5FA653-E1AB24?email=loja%40example.com&token=A1B2C3D4E5F6%2B%2Ftoken"
    );
    assert_eq!(
        headers,
        [("Accept".to_owned(), "application/xml".to_owned())]
    );
    assert!(!redact(Platform::Pagbank, &credentials(), &url).contains("A1B2C3D4E5F6"));
    let mut no_email = credentials();
    no_email.set("email", String::new());
    assert_eq!(call(Platform::Pagbank, path, &no_email, None, None), None);
}

#[test]
fn enrich_pagbank_reads_the_legacy_transaction_in_iso_8859_1() {
    let (_, reading) = read(Platform::Pagbank, &legacy());
    let thin = reading.event.as_ref().expect("thin");
    let (status, answer) = stand_in("pagbank-transaction");
    assert_eq!(status, 200);
    assert!(
        std::str::from_utf8(&answer).is_err(),
        "the stand-in answers in ISO-8859-1"
    );
    let merged = merge(Platform::Pagbank, thin, &answer).expect("merged");
    assert_eq!(merged.status, Status::Ok, "{:?}", merged.reason);
    let e = merged.event.expect("event");
    assert_eq!(e.kind, Some(EventKind::BoletoGenerated));
    assert_eq!(e.platform_event, "transaction");
    assert_eq!(
        e.event_id.as_deref(),
        Some("766B9C-AD4B044B04DA-77742F5FA653-E1AB24")
    );
    assert_eq!(
        e.order_id.as_deref(),
        Some("9E884542-81B3-4419-9A75-BCC6FB495EF1")
    );
    assert_eq!(e.customer.name.as_deref(), Some("José Comprador"));
    assert_eq!(e.customer.first_name.as_deref(), Some("José"));
    assert_eq!(e.customer.email.as_deref(), Some("comprador@example.com"));
    assert_eq!(
        e.customer.phone.map(|p| p.as_str().to_owned()).as_deref(),
        Some("+5511987654321")
    );
    assert_eq!(e.total_cents, Some(19_990));
    assert_eq!(e.payment.method, Some(PaymentMethod::Boleto));
    assert!(
        e.payment
            .boleto_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://pagseguro.uol.com.br/checkout/imprimeBoleto"))
    );
    let products: Vec<_> = e
        .products
        .iter()
        .map(|p| (p.name.as_str(), p.price_cents))
        .collect();
    assert_eq!(
        products,
        [
            ("Curso de Confeitaria", Some(14_990)),
            ("Apostila impressa", Some(5_000))
        ]
    );
}

#[test]
fn enrich_pagbank_each_legacy_status_gives_its_kind() {
    let (_, reading) = read(Platform::Pagbank, &legacy());
    let thin = reading.event.as_ref().expect("thin");
    // (status, paymentMethod type, kind): 1 card, 2 boleto, 3 online debit.
    let cases = [
        ("1", "2", Some(EventKind::BoletoGenerated)),
        ("1", "1", None),
        ("1", "3", None),
        ("2", "1", Some(EventKind::PaymentInReview)),
        ("3", "2", Some(EventKind::OrderPaid)),
        ("4", "2", None),
        ("5", "1", None),
        ("6", "1", Some(EventKind::OrderRefunded)),
        ("7", "1", Some(EventKind::PaymentRefused)),
        ("7", "2", Some(EventKind::PaymentExpired)),
        ("7", "3", Some(EventKind::OrderCanceled)),
        ("8", "1", Some(EventKind::OrderChargeback)),
        ("9", "1", None),
    ];
    for (status, method, kind) in cases {
        let merged = merge(Platform::Pagbank, thin, &transaction(status, method)).expect("merged");
        let event = merged.event.expect("event");
        assert_eq!(event.kind, kind, "status {status}, method {method}");
        assert_eq!(
            merged.status == Status::Unmapped,
            kind.is_none(),
            "status {status}, method {method}"
        );
    }
}

#[test]
fn enrich_pagbank_refuses_what_is_not_a_transaction() {
    let (_, reading) = read(Platform::Pagbank, &legacy());
    let thin = reading.event.as_ref().expect("thin");
    let cases: [(&[u8], &str); 4] = [
        (b"<html><body>Manutencao</body></html>", "not a PagBank transaction"),
        (
            br#"<?xml version="1.0"?><errors><error><code>401</code></error></errors>"#,
            "not a PagBank transaction",
        ),
        (b"<transaction><code>X</code></transaction>", "no code or status"),
        (
            br#"<?xml version="1.0"?><!DOCTYPE t [<!ENTITY e SYSTEM "file:///etc/passwd">]><transaction><code>&e;</code></transaction>"#,
            "not XML",
        ),
    ];
    for (answer, why) in cases {
        let err = merge(Platform::Pagbank, thin, answer).expect_err("refused");
        assert!(err.contains(why), "{err}");
    }
}
