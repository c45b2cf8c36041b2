//! Mercado Livre and Efí, pure: the order and the charge their notifications name, the grants
//! their APIs take, and what a fetched resource gives (and cannot give: the buyer's phone),
//! read from the documented answers in `tests/fixtures/enrich/`.

use serde_json::{Value, json};

use super::enrich::{call, merge, target};
use super::enrich_oauth::{
    CERTIFICATE, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, credentials_refused, oauth, read_grant,
    token_request,
};
use super::enrich_tests::{stand_in, thin_bodies};
use super::{Reading, ReasonCode, Request, Status, recognise};
use crate::domain::enrichment::ApiCredentials;
use crate::domain::{EventKind, Platform};

fn thin(platform: Platform) -> Reading {
    let body = thin_bodies()
        .into_iter()
        .find(|(p, ..)| *p == platform)
        .expect("a thin body")
        .1;
    recognise(
        platform,
        &Request::new(body.to_string().as_bytes(), &[], ""),
    )
    .remove(0)
}

fn merged(platform: Platform, answer: &str) -> Reading {
    let (_, resource) = stand_in(answer);
    merge(
        platform,
        thin(platform).event.as_ref().expect("event"),
        &resource,
    )
    .expect("merged")
}

fn creds(fields: &[(&str, &str)]) -> ApiCredentials {
    let mut creds = ApiCredentials::default();
    for (name, value) in fields {
        creds.set(name, (*value).to_owned());
    }
    creds
}

#[test]
fn enrich_mercadolivre_the_order_gives_state_total_and_name_and_says_the_phone_is_withheld() {
    let reading = merged(Platform::Mercadolivre, "mercadolivre-order");
    assert_eq!(reading.status, Status::Invalid);
    let reason = reading.reason.as_ref().expect("reason");
    assert_eq!(reason.code, ReasonCode::PhoneWithheld);
    assert!(
        reason
            .detail
            .contains("Mercado Livre não compartilha o telefone do comprador"),
        "{}",
        reason.detail
    );
    let event = reading.event.as_ref().expect("event");
    assert_eq!(event.kind, Some(EventKind::OrderPaid));
    assert_eq!(event.total_cents, Some(49_900));
    assert_eq!(event.customer.name.as_deref(), Some("Maria Teste"));
    assert_eq!(event.platform_event, "orders_v2");
    insta::assert_json_snapshot!("enrich_mercadolivre_order_without_phone", reading);
}

#[test]
fn enrich_mercadolivre_an_order_that_still_carries_the_phone_is_planned() {
    let reading = merged(Platform::Mercadolivre, "mercadolivre-order-with-phone");
    assert_eq!(reading.status, Status::Ok, "{:?}", reading.reason);
    let event = reading.event.as_ref().expect("event");
    assert_eq!(
        event.customer.phone.as_ref().map(|p| p.as_str().to_owned()),
        Some("+5511987654321".to_owned())
    );
    assert_eq!(event.total_cents, Some(9_998));
    insta::assert_json_snapshot!("enrich_mercadolivre_order_with_phone", reading);
}

#[test]
fn enrich_mercadolivre_the_order_state_decides_the_kind() {
    let (_, order) = stand_in("mercadolivre-order");
    let order: Value = serde_json::from_slice(&order).expect("JSON");
    let thin = thin(Platform::Mercadolivre).event.expect("event");
    for (status, kind, read_status) in [
        ("paid", Some(EventKind::OrderPaid), Status::Invalid),
        ("cancelled", Some(EventKind::OrderCanceled), Status::Invalid),
        ("payment_required", None, Status::Unmapped),
        ("partially_refunded", None, Status::Unmapped),
    ] {
        let mut answer = order.clone();
        answer["status"] = json!(status);
        let reading = merge(
            Platform::Mercadolivre,
            &thin,
            &serde_json::to_vec(&answer).expect("JSON"),
        )
        .expect("merged");
        assert_eq!(
            reading.event.as_ref().and_then(|e| e.kind),
            kind,
            "{status}"
        );
        assert_eq!(reading.status, read_status, "{status}");
    }
}

#[test]
fn enrich_mercadolivre_only_order_notifications_are_fetched_and_only_their_order_merged() {
    for topic in ["questions", "shipments", "items", "payments"] {
        let body = json!({"_id": "n1", "topic": topic, "resource": "/orders/77"}).to_string();
        let req = Request::new(body.as_bytes(), &[], "");
        let reading = recognise(Platform::Mercadolivre, &req).remove(0);
        assert_eq!(
            target(Platform::Mercadolivre, &req, &reading),
            None,
            "{topic}"
        );
    }
    let thin = thin(Platform::Mercadolivre).event.expect("event");
    let (_, order) = stand_in("mercadolivre-order");
    let mut other: Value = serde_json::from_slice(&order).expect("JSON");
    other["id"] = json!(1);
    for body in [
        serde_json::to_vec(&other).expect("JSON"),
        br#"{"message":"invalid_token","error":"not_found","status":401}"#.to_vec(),
        b"<html></html>".to_vec(),
    ] {
        assert!(merge(Platform::Mercadolivre, &thin, &body).is_err());
    }
}

#[test]
fn enrich_efi_the_charge_gives_amount_code_and_debtor_and_says_the_phone_is_withheld() {
    let reading = merged(Platform::Efi, "efi-cob");
    assert_eq!(reading.status, Status::Invalid);
    let reason = reading.reason.as_ref().expect("reason");
    assert_eq!(reason.code, ReasonCode::PhoneWithheld);
    assert!(reason.detail.contains("a Efí não informa o telefone"));
    let event = reading.event.as_ref().expect("event");
    assert_eq!(
        event.kind,
        Some(EventKind::OrderPaid),
        "the notification's kind"
    );
    assert_eq!(event.total_cents, Some(1));
    assert!(
        event
            .payment
            .pix_code
            .as_deref()
            .is_some_and(|c| c.starts_with("000201"))
    );
    assert_eq!(event.customer.name.as_deref(), Some("Maria Teste"));
    assert_eq!(event.customer.document.as_deref(), Some("00000000000"));
    insta::assert_json_snapshot!("enrich_efi_cob", reading);
}

#[test]
fn enrich_efi_only_the_named_charge_is_merged() {
    let thin = thin(Platform::Efi).event.expect("event");
    let (_, cob) = stand_in("efi-cob");
    let mut other: Value = serde_json::from_slice(&cob).expect("JSON");
    other["txid"] = json!("outracobranca000000000001");
    let mut no_status: Value = serde_json::from_slice(&cob).expect("JSON");
    no_status["status"] = json!("PAGO?");
    for body in [
        serde_json::to_vec(&other).expect("JSON"),
        serde_json::to_vec(&no_status).expect("JSON"),
        br#"{"nome":"cobranca_nao_encontrada","mensagem":"Nenhuma cobranca"}"#.to_vec(),
    ] {
        assert!(merge(Platform::Efi, &thin, &body).is_err());
    }
    // A Pix to the key with no charge (no txid) has nothing to fetch.
    let body = json!({"pix": [{"endToEndId": "E1", "valor": "1.00"}]}).to_string();
    let req = Request::new(body.as_bytes(), &[], "");
    let reading = recognise(Platform::Efi, &req).remove(0);
    assert_eq!(target(Platform::Efi, &req, &reading), None);
}

#[test]
fn enrich_the_token_requests_are_the_documented_grants() {
    assert!(oauth(Platform::Mercadolivre) && oauth(Platform::Efi));
    assert!(!oauth(Platform::Mercadopago));
    let ml = creds(&[
        (CLIENT_ID, "5503910054141466"),
        (CLIENT_SECRET, "s3cr3t&x=1"),
        (REFRESH_TOKEN, " TG-refresh-0001 "),
    ]);
    let request = token_request(Platform::Mercadolivre, &ml, None).expect("request");
    assert_eq!(request.url, "https://api.mercadolibre.com/oauth/token");
    assert_eq!(
        String::from_utf8(request.body.clone()).expect("text"),
        "grant_type=refresh_token&client_id=5503910054141466&client_secret=s3cr3t%26x%3D1\
         &refresh_token=TG-refresh-0001"
    );
    assert!(request.headers.contains(&(
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into()
    )));
    assert!(
        !format!("{request:?}").contains("s3cr3t"),
        "Debug names no secret"
    );
    assert_eq!(
        token_request(Platform::Mercadolivre, &creds(&[(CLIENT_ID, "1")]), None),
        None,
        "a missing field: no call"
    );

    let efi = creds(&[
        (CLIENT_ID, "Client_Id_abc"),
        (CLIENT_SECRET, "Client_Secret_xyz"),
        (CERTIFICATE, "-----BEGIN CERTIFICATE-----"),
    ]);
    let request =
        token_request(Platform::Efi, &efi, Some("https://pix.stand-in.test:9/")).expect("request");
    assert_eq!(request.url, "https://pix.stand-in.test:9/oauth/token");
    // base64("Client_Id_abc:Client_Secret_xyz")
    assert!(request.headers.contains(&(
        "Authorization".into(),
        "Basic Q2xpZW50X0lkX2FiYzpDbGllbnRfU2VjcmV0X3h5eg==".into()
    )));
    assert_eq!(request.body, br#"{"grant_type":"client_credentials"}"#);

    // Tray: a GET with the refresh token (URL-encoded) in the query string, under the store's
    // own API address.
    assert!(oauth(Platform::Tray));
    let tray = creds(&[
        ("api_address", "https://www.minhaloja.com.br/web_api"),
        (REFRESH_TOKEN, "ref/+secret"),
    ]);
    let request = token_request(Platform::Tray, &tray, None).expect("request");
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.url,
        "https://www.minhaloja.com.br/web_api/auth?refresh_token=ref%2F%2Bsecret"
    );
    assert!(request.body.is_empty());
    assert!(
        !format!("{request:?}").contains("secret"),
        "Debug names no secret"
    );
}

#[test]
fn enrich_the_grants_are_read_as_documented() {
    let (_, ml) = stand_in("mercadolivre-token");
    let grant = read_grant(Platform::Mercadolivre, &ml, 0).expect("grant");
    assert_eq!(grant.expires_in, 21_600, "6 hours");
    assert_eq!(
        grant.refresh_token.as_deref(),
        Some("TG-stand-in-refresh-0002-468424240")
    );
    assert!(!format!("{grant:?}").contains("APP_USR"));
    let without_next = br#"{"access_token":"APP_USR-1","expires_in":21600}"#;
    assert!(
        read_grant(Platform::Mercadolivre, without_next, 0).is_err(),
        "without the next refresh token the store would lose access"
    );
    let (_, efi) = stand_in("efi-token");
    let grant = read_grant(Platform::Efi, &efi, 0).expect("grant");
    assert_eq!((grant.expires_in, grant.refresh_token), (3_600, None));
    assert!(read_grant(Platform::Efi, b"<html>", 0).is_err());
    // Tray gives ends as Brasília dates: 3 hours for the access token, 30 days for the refresh
    // token (the fixture's dates, from 2025-11-18 12:00:00 in Brasília = 15:00 UTC).
    let noon = 1_763_478_000;
    let (_, tray) = stand_in("tray-token");
    let grant = read_grant(Platform::Tray, &tray, noon).expect("grant");
    assert_eq!(grant.expires_in, 3 * 3_600);
    assert_eq!(grant.refresh_expires_at, Some(noon + 30 * 86_400));
    assert_eq!(
        grant.refresh_token.as_deref(),
        Some("stand-in-refresh-0002")
    );
    let without_next =
        br#"{"access_token":"a","date_expiration_access_token":"2025-11-18 15:00:00"}"#;
    assert!(read_grant(Platform::Tray, without_next, noon).is_err());
    let undated = br#"{"access_token":"a","refresh_token":"r"}"#;
    let grant = read_grant(Platform::Tray, undated, noon).expect("grant");
    assert_eq!(
        (grant.expires_in, grant.refresh_expires_at),
        (10_800, None),
        "the documented 3 hours"
    );
    for (status, refused) in [
        (400, true),
        (401, true),
        (403, true),
        (429, false),
        (503, false),
    ] {
        assert_eq!(credentials_refused(status), refused, "{status}");
    }
}

#[test]
fn enrich_oauth_calls_carry_the_access_token_they_were_given() {
    let ml = creds(&[
        (CLIENT_ID, "1"),
        (CLIENT_SECRET, "s"),
        (REFRESH_TOKEN, "TG-1"),
    ]);
    let (url, headers) = call(
        Platform::Mercadolivre,
        "/orders/1",
        &ml,
        Some("APP_USR-access"),
        None,
    )
    .expect("call");
    assert_eq!(url, "https://api.mercadolibre.com/orders/1");
    assert!(headers.contains(&("Authorization".into(), "Bearer APP_USR-access".into())));
    assert_eq!(
        call(Platform::Mercadolivre, "/orders/1", &ml, None, None),
        None
    );
    // Incomplete credentials: no call.
    let partial = creds(&[(REFRESH_TOKEN, "TG-1")]);
    assert_eq!(
        call(
            Platform::Mercadolivre,
            "/orders/1",
            &partial,
            Some("t"),
            None
        ),
        None
    );
    let efi = creds(&[
        (CLIENT_ID, "1"),
        (CLIENT_SECRET, "s"),
        (CERTIFICATE, "-----BEGIN CERTIFICATE-----"),
    ]);
    let (url, _) = call(Platform::Efi, "/v2/cob/t1", &efi, Some("tok"), None).expect("call");
    assert_eq!(url, "https://pix.api.efipay.com.br/v2/cob/t1");
}
