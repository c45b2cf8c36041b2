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
    let body = match &file["body"] {
        // An XML answer, as text: sent in the encoding it declares (PagBank's ISO-8859-1).
        Value::String(xml) if xml.to_ascii_lowercase().contains("encoding=\"iso-8859-1\"") => xml
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("an ISO-8859-1 character"))
            .collect(),
        Value::String(text) => text.clone().into_bytes(),
        json => serde_json::to_vec(json).expect("body"),
    };
    (status, body)
}

/// A fixture of `tests/fixtures/`, as bytes.
pub(super) fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .expect("fixture")
}

/// A thin body's bytes: a form body is kept as a JSON string, a JSON body as itself.
pub(crate) fn raw(body: &Value) -> Vec<u8> {
    match body {
        Value::String(form) => form.clone().into_bytes(),
        json => json.to_string().into_bytes(),
    }
}

/// Thin notifications as the platforms send them (a form body as a string), with the path avisa
/// fetches for each.
pub(crate) fn thin_bodies() -> Vec<(Platform, Value, &'static str)> {
    let form = |path: &str| Value::String(String::from_utf8(fixture(path)).expect("UTF-8"));
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
            Platform::Vindi,
            // A bank slip bill waiting, in the shape of tests/fixtures/vindi/*.json.
            json!({"event": {"type": "bill_created", "created_at": "2026-12-07T09:10:00.000-03:00",
                "data": {"bill": {"id": 359428, "code": null, "amount": "100.0",
                    "installments": 1, "status": "pending",
                    "due_at": "2026-12-10T23:59:59.000-03:00",
                    "url": "https://app.vindi.com.br/customer/bills/359428?token=FAKE_TOKEN",
                    "bill_items": [{"id": 464055, "amount": "100.0", "quantity": 1,
                        "product": {"id": 6389, "name": "Mensalidade", "code": ""}}],
                    "charges": [{"id": 315312, "amount": "100.0", "status": "pending",
                        "due_at": "2026-12-10T23:59:59.000-03:00",
                        "print_url": "https://app.vindi.com.br/customer/charges/315312/print?token=FAKE",
                        "payment_method": {"id": 3502, "code": "bank_slip",
                            "type": "PaymentMethod::BankSlip"}}],
                    "customer": {"id": 175835, "name": "Cliente Teste",
                        "email": "cliente.teste1@example.com", "code": "wc-1-1447259503"}}}}}),
            "/customers/175835",
        ),
        (
            Platform::Iugu,
            form("iugu/invoice.created-pending-subscription-real.form"),
            "/v1/invoices/D504EEBD8D77470EA8172DF9E83B21E1",
        ),
        (
            Platform::Vtex,
            json!({"Domain": "Marketplace", "OrderId": "v40484048naf-01",
                   "State": "payment-pending", "LastChange": "2026-12-07T12:10:00.0000000Z",
                   "Origin": {"Account": "minhaloja", "Key": "vtexappkey-minhaloja-ABC"}}),
            "/api/oms/pvt/orders/v40484048naf-01",
        ),
        (
            Platform::Tray,
            form("tray/order-update-test.form"),
            "/orders/4375797/complete",
        ),
        (
            Platform::Mercadolivre,
            json_fixture("mercadolivre/orders_v2-test.json"),
            "/orders/2195160686",
        ),
        (
            Platform::Efi,
            json_fixture("efi/pix-recebido-test.json"),
            "/v2/cob/fc9a43k6ff384ryP5f41719",
        ),
        (
            Platform::Pagbank,
            // The legacy API's notification as its documentation shows it.
            Value::String(
                "notificationCode=766B9C-AD4B044B04DA-77742F5FA653-E1AB24\
                 &notificationType=transaction"
                    .into(),
            ),
            "/v3/transactions/notifications/766B9C-AD4B044B04DA-77742F5FA653-E1AB24",
        ),
    ]
}

fn json_fixture(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).expect("JSON")
}

pub(super) fn read(platform: Platform, body: &Value) -> (Vec<u8>, super::Reading) {
    let raw = raw(body);
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
        // A Vindi card bill: charged at once, nothing to remind the buyer of.
        (
            Platform::Vindi,
            json!({"event": {"type": "bill_created", "data": {"bill": {"id": 1,
                "charges": [{"payment_method": {"code": "credit_card"}}],
                "customer": {"id": 2}}}}}),
        ),
        // A Vindi event avisa does not message.
        (
            Platform::Vindi,
            json!({"event": {"type": "customer_updated", "data": {"customer": {"id": 2}}}}),
        ),
        // PagBank's notification is the resource: an order without a phone has none to fetch.
        (
            Platform::Pagbank,
            json!({"id": "ORDE_1", "customer": {"name": "A", "email": "a@example.com"},
                   "charges": [{"status": "WAITING", "payment_method": {"type": "BOLETO"}}]}),
        ),
        // A subscription's id is not an invoice; an authorised invoice says nothing to remind.
        (
            Platform::Iugu,
            Value::String("event=subscription.activated&data[id]=ABC".into()),
        ),
        (
            Platform::Iugu,
            Value::String(
                "event=invoice.status_changed&data[id]=ABC&data[status]=authorized".into(),
            ),
        ),
        // A VTEX state that says nothing to a buyer.
        (
            Platform::Vtex,
            json!({"OrderId": "v1-01", "State": "ready-for-handling"}),
        ),
        // Tray: a deleted order, a product.
        (
            Platform::Tray,
            Value::String("seller_id=1&scope_id=42&scope_name=order&act=delete".into()),
        ),
        (
            Platform::Tray,
            Value::String("seller_id=1&scope_id=42&scope_name=product&act=update".into()),
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
    let (url, headers) = call(Platform::Vindi, "/customers/7", &creds, None, None).expect("call");
    assert_eq!(url, "https://app.vindi.com.br/api/v1/customers/7");
    // Basic with the key as the user and an empty password: base64("tok-123:").
    assert!(headers.contains(&("Authorization".into(), "Basic dG9rLTEyMzo=".into())));
    assert_eq!(call(Platform::Hotmart, "/x", &creds, None, None), None);
    assert_eq!(
        call(Platform::Pagbank, "/orders/1", &creds, None, None),
        None
    );
    let (url, headers) = call(Platform::Iugu, "/v1/invoices/AB12", &creds, None, None).expect("c");
    assert_eq!(url, "https://api.iugu.com/v1/invoices/AB12");
    // base64("tok-123:")
    assert!(headers.contains(&("Authorization".into(), "Basic dG9rLTEyMzo=".into())));
    assert_eq!(call(Platform::Hotmart, "/x", &creds, None, None), None);
    // VTEX: the store's own host from its account, the key and the token in their headers.
    let mut vtex = creds.clone();
    assert_eq!(
        call(Platform::Vtex, "/api/oms/pvt/orders/1", &vtex, None, None),
        None
    );
    vtex.set("account", "minhaloja".into());
    vtex.set("app_key", "vtexappkey-minhaloja-ABC".into());
    let (url, headers) = call(
        Platform::Vtex,
        "/api/oms/pvt/orders/v1-01",
        &vtex,
        None,
        None,
    )
    .expect("c");
    assert_eq!(
        url,
        "https://minhaloja.vtexcommercestable.com.br/api/oms/pvt/orders/v1-01"
    );
    assert!(headers.contains(&(
        "X-VTEX-API-AppKey".into(),
        "vtexappkey-minhaloja-ABC".into()
    )));
    assert!(headers.contains(&("X-VTEX-API-AppToken".into(), "tok-123".into())));
    // An account that is not a host label makes no call.
    vtex.set("account", "evil.com/x?".into());
    assert_eq!(
        call(Platform::Vtex, "/x", &vtex, None, None).map(|(url, _)| url),
        Some("https://evil.vtexcommercestable.com.br/x".into()),
        "cut down to its first label"
    );
    vtex.set("account", "a b".into());
    assert_eq!(call(Platform::Vtex, "/x", &vtex, None, None), None);
    // Tray: the store's API address, the access token avisa was given (URL-encoded) in the
    // query string only; none given, no call.
    let mut tray = ApiCredentials::default();
    tray.set("api_address", "https://www.minhaloja.com.br/web_api".into());
    tray.set("refresh_token", "refresh-1".into());
    assert_eq!(
        call(Platform::Tray, "/orders/7/complete", &tray, None, None),
        None
    );
    let (url, headers) = call(
        Platform::Tray,
        "/orders/7/complete",
        &tray,
        Some("tok/+1"),
        None,
    )
    .expect("c");
    assert_eq!(
        url,
        "https://www.minhaloja.com.br/web_api/orders/7/complete?access_token=tok%2F%2B1"
    );
    assert_eq!(
        headers,
        [("Accept".to_owned(), "application/json".to_owned())]
    );
}

#[test]
fn enrich_merges_each_documented_answer_into_the_event() {
    let cases = [
        (Platform::Nuvemshop, "nuvemshop-order"),
        (Platform::Mercadopago, "mercadopago-payment"),
        (Platform::Asaas, "asaas-customer"),
        (Platform::Vindi, "vindi-customer"),
        (Platform::Iugu, "iugu-invoice"),
        (Platform::Vtex, "vtex-order"),
        (Platform::Tray, "tray-order"),
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
    // Vindi's answer is `{"customer": {…}}`: Asaas's bare customer is not it, nor the reverse.
    let (_, vindi) = read(Platform::Vindi, &thin_bodies()[3].1);
    let vindi = vindi.event.expect("event");
    assert!(merge(Platform::Vindi, &vindi, &customer).is_err());
    assert!(merge(Platform::Vindi, &vindi, br#"{"customer": null}"#).is_err());
    let (_, vindi_customer) = stand_in("vindi-customer");
    let (_, asaas) = read(Platform::Asaas, &thin_bodies()[2].1);
    assert!(
        merge(
            Platform::Asaas,
            asaas.event.as_ref().expect("e"),
            &vindi_customer
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

#[test]
fn enrich_what_is_kept_of_a_failed_call_never_holds_a_secret() {
    use super::enrich::redact;
    let mut tray = ApiCredentials::default();
    tray.set("refresh_token", "ref/+1secret".into());
    tray.set("api_address", "https://www.loja.com.br/web_api".into());
    tray.session = Some(crate::domain::enrichment::ApiSession::new(
        "tok/+2secret".into(),
        10_800,
        0,
    ));
    let error = "only https is allowed: http://www.loja.com.br/web_api/orders/7/complete\
                 ?access_token=tok%2F%2B2secret (tok/+2secret), \
                 http://www.loja.com.br/web_api/auth?refresh_token=ref%2F%2B1secret";
    let kept = redact(Platform::Tray, &tray, error);
    assert!(!kept.contains("secret"), "{kept}");
    assert!(
        kept.contains("www.loja.com.br"),
        "the address is not a secret"
    );
    assert_eq!(
        give_up_reason(GiveUp::TokenExpired).detail,
        "o refresh token da Tray expirou: gere um novo no painel"
    );
}
