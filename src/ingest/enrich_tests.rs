//! Thin notifications, pure: which deliveries name a resource to fetch, the call for it, and
//! the event re-read with the platform's documented answer (the stand-ins in
//! `tests/fixtures/enrich/`, each with the URL of the API reference its shape comes from).

use std::path::Path;

use serde_json::{Value, json};

use super::enrich::{call, credential, give_up_reason, merge, target};
use super::{ReasonCode, Request, Status, recognise};
use crate::domain::enrichment::{ApiCredentials, GiveUp};
use crate::domain::{EventKind, Platform};

/// A stand-in answer of a platform's API: (status, body bytes) from
/// `tests/fixtures/enrich/<name>.json`, which also records where its shape was published.
pub(crate) fn stand_in(name: &str) -> (u16, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/enrich")
        .join(format!("{name}.json"));
    let file: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("stand-in file")).expect("JSON");
    assert!(
        file["source"].as_str().is_some_and(|s| s.contains("http")),
        "{name} records the URL its shape comes from"
    );
    let status = file["status"].as_u64().expect("status") as u16;
    (status, serde_json::to_vec(&file["body"]).expect("body"))
}

/// Thin notifications as the platforms send them, with the path avisa fetches for each.
pub(crate) fn thin_bodies() -> Vec<(Platform, Value, &'static str)> {
    vec![
        (
            Platform::Nuvemshop,
            json!({"store_id": 123456, "event": "order/created", "id": 450789469}),
            "/123456/orders/450789469",
        ),
        (
            Platform::Mercadopago,
            json!({"action": "payment.created", "api_version": "v1",
                   "data": {"id": "1234567890"}, "date_created": "2026-12-07T12:10:00Z",
                   "id": 12345, "live_mode": true, "type": "payment", "user_id": 100200300}),
            "/v1/payments/1234567890",
        ),
        (
            Platform::Asaas,
            serde_json::from_slice(
                &std::fs::read(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("tests/fixtures/asaas/PAYMENT_CREATED-pix-test.json"),
                )
                .expect("fixture"),
            )
            .expect("JSON"),
            "/v3/customers/cus_000007259639",
        ),
        (
            Platform::Mercadolivre,
            fixture("mercadolivre/orders_v2-test.json"),
            "/orders/2195160686",
        ),
        (
            Platform::Efi,
            fixture("efi/pix-recebido-test.json"),
            "/v2/cob/fc9a43k6ff384ryP5f41719",
        ),
    ]
}

fn fixture(path: &str) -> Value {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    serde_json::from_slice(&std::fs::read(full).expect("fixture")).expect("JSON")
}

fn read(platform: Platform, body: &Value) -> (Vec<u8>, super::Reading) {
    let raw = body.to_string().into_bytes();
    let reading = recognise(platform, &Request::new(&raw, &[], "")).remove(0);
    (raw, reading)
}

#[test]
fn enrich_thin_notifications_name_the_resource_to_fetch() {
    for (platform, body, path) in thin_bodies() {
        let (raw, reading) = read(platform, &body);
        assert_ne!(reading.status, Status::Ok, "{platform:?} is thin");
        assert_eq!(
            target(platform, &Request::new(&raw, &[], ""), &reading).as_deref(),
            Some(path),
            "{platform:?}"
        );
        assert!(
            credential(platform).is_some(),
            "{platform:?} says what it needs"
        );
    }
}

#[test]
fn enrich_leaves_alone_what_needs_no_fetch() {
    let cases = [
        // Not an order.
        (
            Platform::Nuvemshop,
            json!({"store_id": 1, "event": "product/created", "id": 2}),
        ),
        // order/updated says nothing a buyer needs.
        (
            Platform::Nuvemshop,
            json!({"store_id": 1, "event": "order/updated", "id": 2}),
        ),
        // Card updates are not payments.
        (
            Platform::Mercadopago,
            json!({"type": "automatic-payments", "action": "card.updated", "data": {"id": "9"}}),
        ),
        // An Asaas event avisa does not message: no fetch for it.
        (
            Platform::Asaas,
            json!({"event": "PAYMENT_UPDATED", "payment": {"id": "pay_1", "customer": "cus_1"}}),
        ),
        // A platform whose API avisa does not call.
        (
            Platform::Hotmart,
            json!({"event": "PURCHASE_APPROVED", "data": {}}),
        ),
    ];
    for (platform, body) in cases {
        let (raw, reading) = read(platform, &body);
        assert_eq!(
            target(platform, &Request::new(&raw, &[], ""), &reading),
            None,
            "{body}"
        );
    }
}

#[test]
fn enrich_refuses_ids_that_would_change_the_path() {
    for id in ["../../admin", "1?x=2", "1/2", "1%2F2", ""] {
        let body = json!({"store_id": 1, "event": "order/paid", "id": id});
        let (raw, reading) = read(Platform::Nuvemshop, &body);
        assert_eq!(
            target(Platform::Nuvemshop, &Request::new(&raw, &[], ""), &reading),
            None,
            "{id}"
        );
    }
}

#[test]
fn enrich_calls_carry_the_credential_where_each_platform_wants_it() {
    let creds = ApiCredentials::token(" tok-123 ");
    let (url, headers) =
        call(Platform::Nuvemshop, "/1/orders/2", &creds, None, None).expect("call");
    assert_eq!(url, "https://api.nuvemshop.com.br/v1/1/orders/2");
    assert!(headers.contains(&("Authentication".into(), "bearer tok-123".into())));
    let (url, headers) =
        call(Platform::Mercadopago, "/v1/payments/9", &creds, None, None).expect("c");
    assert_eq!(url, "https://api.mercadopago.com/v1/payments/9");
    assert!(headers.contains(&("Authorization".into(), "Bearer tok-123".into())));
    let (url, headers) = call(
        Platform::Asaas,
        "/v3/customers/cus_1",
        &creds,
        None,
        Some("http://127.0.0.1:9/"),
    )
    .expect("call");
    assert_eq!(url, "http://127.0.0.1:9/v3/customers/cus_1");
    assert!(headers.contains(&("access_token".into(), "tok-123".into())));
    assert_eq!(call(Platform::Hotmart, "/x", &creds, None, None), None);
}

#[test]
fn enrich_merges_each_documented_answer_into_the_event() {
    let cases = [
        (Platform::Nuvemshop, "nuvemshop-order"),
        (Platform::Mercadopago, "mercadopago-payment"),
        (Platform::Asaas, "asaas-customer"),
    ];
    let thin = thin_bodies();
    for (platform, stand_in_name) in cases {
        let body = &thin.iter().find(|(p, ..)| *p == platform).expect("body").1;
        let (_, reading) = read(platform, body);
        let (_, resource) = stand_in(stand_in_name);
        let merged =
            merge(platform, reading.event.as_ref().expect("event"), &resource).expect("merged");
        assert_eq!(
            merged.status,
            Status::Ok,
            "{platform:?}: {:?}",
            merged.reason
        );
        insta::with_settings!({ snapshot_suffix => stand_in_name, prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("enrich_merged", merged);
        });
    }
}

#[test]
fn enrich_kinds_come_from_the_notification_first_then_the_resource() {
    let (_, resource) = stand_in("nuvemshop-order");
    let paid = json!({"store_id": 123456, "event": "order/paid", "id": 450789469});
    let (_, reading) = read(Platform::Nuvemshop, &paid);
    let merged = merge(
        Platform::Nuvemshop,
        reading.event.as_ref().expect("e"),
        &resource,
    )
    .expect("merged");
    assert_eq!(
        merged.event.as_ref().and_then(|e| e.kind),
        Some(EventKind::OrderPaid)
    );
    let created = json!({"store_id": 123456, "event": "order/created", "id": 450789469});
    let (_, reading) = read(Platform::Nuvemshop, &created);
    let merged = merge(
        Platform::Nuvemshop,
        reading.event.as_ref().expect("e"),
        &resource,
    )
    .expect("merged");
    let event = merged.event.expect("event");
    assert_eq!(event.kind, Some(EventKind::BoletoGenerated));
    assert_eq!(event.platform_event, "order/created");
}

#[test]
fn enrich_refuses_answers_that_are_not_the_resource() {
    let (_, reading) = read(Platform::Nuvemshop, &thin_bodies()[0].1);
    let thin = reading.event.expect("event");
    let (_, order) = stand_in("nuvemshop-order");
    let mut other: Value = serde_json::from_slice(&order).expect("JSON");
    other["id"] = json!(1);
    let bodies: [&[u8]; 4] = [
        b"<html>login</html>",
        b"{\"id\": 450789",
        br#"{"message": "Unauthorized"}"#,
        &serde_json::to_vec(&other).expect("JSON"),
    ];
    for body in bodies {
        assert!(
            merge(Platform::Nuvemshop, &thin, body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let (_, customer) = stand_in("asaas-customer");
    let (_, mp) = read(Platform::Mercadopago, &thin_bodies()[1].1);
    assert!(
        merge(
            Platform::Mercadopago,
            mp.event.as_ref().expect("e"),
            &customer
        )
        .is_err()
    );
}

#[test]
fn enrich_give_ups_are_invalid_reasons_in_portuguese() {
    let reason = give_up_reason(GiveUp::TokenInvalid);
    assert_eq!(reason.code, ReasonCode::ApiTokenInvalid);
    assert_eq!(reason.detail, "token da API inválido");
    assert_eq!(
        give_up_reason(GiveUp::NoAnswer).detail,
        "a plataforma não respondeu"
    );
    assert_eq!(
        ReasonCode::ApiNoAnswer.invalid_kind(),
        Some(super::InvalidKind::PlatformApi)
    );
}

#[test]
fn enrich_credentials_of_several_fields_are_complete_only_with_every_field() {
    use super::enrich::{Credential, Field};
    const TWO: Credential = Credential {
        fields: &[
            Field {
                name: "account",
                label: "Conta",
                help: "",
                secret: false,
            },
            Field {
                name: "token",
                label: "Token",
                help: "",
                secret: true,
            },
        ],
    };
    let mut creds = ApiCredentials::token("tok");
    let missing: Vec<&str> = TWO.missing(&creds).iter().map(|f| f.name).collect();
    assert_eq!(missing, ["account"]);
    creds.set("account", "  ".into());
    assert_eq!(TWO.missing(&creds).len(), 1, "blank is missing");
    creds.set("account", "loja".into());
    assert!(TWO.missing(&creds).is_empty());
    // A one-token platform without its token makes no call.
    assert_eq!(
        call(
            Platform::Asaas,
            "/v3/customers/cus_1",
            &ApiCredentials::default(),
            None,
            None
        ),
        None
    );
}
