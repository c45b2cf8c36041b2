//! Tray filled in, end to end on a real data file against a loopback stand-in of its API
//! (documented answers from `tests/fixtures/enrich/`: `tray-token`, `tray-order`): the access
//! token obtained with the merchant's refresh token (`GET /auth?refresh_token=…`), kept until
//! its 3 hours end, then renewed; the new refresh token stored before the order is fetched (a
//! restart in between keeps it); a kept token answered 401 renewed once; a refused renewal; a
//! refresh token past its 30 days said as expired; no token in what is kept of a failed call.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::ApiBase;
use super::enrich_tests::{NOON, Rig, TOKEN, next_pass};
use super::oauth_tests::{Api, client};
use crate::domain::enrichment::{ApiCredentials, ApiSession};
use crate::domain::{Clock, ManualClock, Platform};
use crate::ingest::enrich_oauth::REFRESH_TOKEN;
use crate::ingest::enrich_tests::stand_in;
use crate::ingest::{ReasonCode, Status};
use crate::net::{Client, Policy};

const ORDER_PATH: &str = "/orders/4375797/complete";
const THIRTY_DAYS: i64 = 30 * 86_400;

/// The merchant's Tray credentials as pasted: the API address and a refresh token.
fn tray_credentials(refresh: &str) -> ApiCredentials {
    let mut creds = ApiCredentials::default();
    creds.set("api_address", "https://www.minhaloja.com.br/web_api".into());
    creds.set(REFRESH_TOKEN, refresh.into());
    creds
}

fn tray_rig(refresh: &str) -> Rig {
    let rig = Rig::new(Platform::Tray);
    rig.db
        .set_api_credentials(rig.store, Some(&tray_credentials(refresh)))
        .expect("credentials");
    rig
}

/// Tray's API as documented: a renewal takes the current refresh token (`tray-refresh-{n+1}`
/// after n renewals) while its 30 days last and gives a new access token (`tray-access-{n}`,
/// 3 hours) and the next refresh token, with their ends as Brasília dates; any other refresh
/// token is refused. The order answers only to the latest access token.
struct Tray {
    renewals: AtomicUsize,
    /// When the current refresh token ends (Unix seconds).
    refresh_ends: AtomicI64,
    /// Answer the order with this status instead (503: down for a while).
    order_status: Mutex<Option<u16>>,
}

fn brasilia(unix: i64) -> String {
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").expect("tz");
    jiff::Timestamp::from_second(unix)
        .expect("time")
        .to_zoned(tz)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn tray_api(clock: ManualClock) -> (Api, Arc<Tray>) {
    let tray = Arc::new(Tray {
        renewals: AtomicUsize::new(0),
        refresh_ends: AtomicI64::new(NOON + THIRTY_DAYS),
        order_status: Mutex::new(None),
    });
    let state = tray.clone();
    let refused = br#"{"message":"Unauthorized","causes":["Invalid access token"],"code":401}"#;
    let api = Api::start(Arc::new(move |request: &str| {
        let n = state.renewals.load(Ordering::SeqCst);
        let now = clock.now();
        if request.starts_with("GET /auth?") {
            let current = format!("GET /auth?refresh_token=tray-refresh-{} ", n + 1);
            let alive = now < state.refresh_ends.load(Ordering::SeqCst);
            if !request.starts_with(&current) || !alive {
                return (401, refused.to_vec());
            }
            let n = state.renewals.fetch_add(1, Ordering::SeqCst) + 1;
            state
                .refresh_ends
                .store(now + THIRTY_DAYS, Ordering::SeqCst);
            let (_, body) = stand_in("tray-token");
            let mut grant: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            grant["access_token"] = format!("tray-access-{n}").into();
            grant["refresh_token"] = format!("tray-refresh-{}", n + 1).into();
            grant["date_expiration_access_token"] = brasilia(now + 3 * 3_600).into();
            grant["date_expiration_refresh_token"] = brasilia(now + THIRTY_DAYS).into();
            return (200, serde_json::to_vec(&grant).expect("JSON"));
        }
        let path = request.split(' ').nth(1).unwrap_or_default();
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        if query != format!("access_token=tray-access-{n}") || n == 0 {
            return (401, refused.to_vec());
        }
        if path == ORDER_PATH {
            if let Some(status) = *state.order_status.lock().expect("status") {
                return (status, br#"{"message":"unavailable"}"#.to_vec());
            }
            return stand_in("tray-order");
        }
        (404, br#"{"message":"Not Found","code":404}"#.to_vec())
    }));
    (api, tray)
}

/// The request lines the stand-in saw.
fn lines(api: &Api) -> Vec<String> {
    api.requests()
        .iter()
        .map(|r| r.lines().next().unwrap_or_default().to_owned())
        .collect()
}

fn renewals(api: &Api) -> usize {
    lines(api)
        .iter()
        .filter(|l| l.starts_with("GET /auth?"))
        .count()
}

fn stored(rig: &Rig) -> ApiCredentials {
    rig.db
        .api_credentials(rig.store)
        .expect("read")
        .expect("kept")
}

/// Another order notification of the store (its own order, its own event).
fn receive_order(rig: &Rig, order: u64) -> crate::domain::EventId {
    let body = format!(
        "seller_id=391250&scope_id={order}&scope_name=order&act=update&app_code=718\
         &url_notification=https://suaurldenotificacao"
    )
    .into_bytes();
    let readings =
        crate::ingest::recognise(Platform::Tray, &crate::ingest::Request::new(&body, &[], ""));
    let recorded = rig
        .db
        .record_deliveries(&[crate::db::Delivery {
            store_id: rig.store,
            received_at: rig.clock.now(),
            raw: crate::db::RawDelivery {
                body,
                ..crate::db::RawDelivery::default()
            },
            readings,
        }])
        .expect("recorded");
    match recorded[0][0] {
        crate::db::Recorded::New(id) => id,
        other => panic!("not new: {other:?}"),
    }
}

#[test]
fn enrich_tray_renews_the_access_token_stores_the_next_refresh_token_and_reads_the_order() {
    let rig = tray_rig("tray-refresh-1");
    let id = rig.receive_thin();
    assert_eq!(rig.event(id).status, Status::Awaiting);
    let (api, _) = tray_api(rig.clock.clone());
    let pass = rig.enricher(client(), api.base()).run_once().expect("pass");
    assert_eq!(pass.filled, 1);
    assert_eq!(
        lines(&api),
        [
            "GET /auth?refresh_token=tray-refresh-1 HTTP/1.1".to_owned(),
            format!("GET {ORDER_PATH}?access_token=tray-access-1 HTTP/1.1"),
        ]
    );
    let stored = stored(&rig);
    assert_eq!(
        stored.get(REFRESH_TOKEN),
        Some("tray-refresh-2"),
        "the next one"
    );
    let session = stored.session.expect("the access token is kept");
    assert_eq!(session.access_token, "tray-access-1");
    assert_eq!(session.expires_at, NOON + 3 * 3_600, "Tray's date, read");
    assert_eq!(session.refresh_expires_at, Some(NOON + THIRTY_DAYS));

    let event = rig.event(id);
    assert_eq!(event.status, Status::Ok, "{:?}", event.reason);
    assert!(rig.messages(id) > 0, "planned");
}

#[test]
fn enrich_tray_the_access_token_is_kept_until_it_expires_then_renewed() {
    let rig = tray_rig("tray-refresh-1");
    let (api, _) = tray_api(rig.clock.clone());
    let enricher = rig.enricher(client(), api.base());
    rig.receive_thin();
    enricher.run_once().expect("pass");
    assert_eq!(renewals(&api), 1);

    // Two hours later: the kept token still serves (the 404 of another order is its answer).
    rig.clock.advance(2 * 3_600);
    let other = receive_order(&rig, 4_375_798);
    enricher.run_once().expect("pass");
    assert_eq!(renewals(&api), 1, "no renewal");
    assert_eq!(
        rig.event(other).reason.map(|r| r.code),
        Some(ReasonCode::ApiNotFound)
    );

    // Past three hours: renewed with the stored refresh token, and the next one kept.
    rig.clock.advance(3_600);
    let id = receive_order(&rig, 4_375_799);
    enricher.run_once().expect("pass");
    let seen = lines(&api);
    assert_eq!(renewals(&api), 2);
    assert!(seen.contains(&"GET /auth?refresh_token=tray-refresh-2 HTTP/1.1".to_owned()));
    assert_eq!(stored(&rig).get(REFRESH_TOKEN), Some("tray-refresh-3"));
    assert_eq!(
        rig.event(id).reason.map(|r| r.code),
        Some(ReasonCode::ApiNotFound),
        "called with the new token"
    );
    assert!(
        seen.last()
            .expect("a call")
            .contains("access_token=tray-access-2")
    );
}

#[test]
fn enrich_tray_a_kept_token_answered_401_is_renewed_once_and_the_call_made_again() {
    let rig = tray_rig("tray-refresh-1");
    // A token kept from before that Tray no longer takes (revoked, or ended early).
    let kept = ApiCredentials {
        session: Some(ApiSession::new("tray-revoked".into(), 3 * 3_600, NOON)),
        ..tray_credentials("tray-refresh-1")
    };
    rig.db
        .set_api_credentials(rig.store, Some(&kept))
        .expect("credentials");
    let id = rig.receive_thin();
    let (api, _) = tray_api(rig.clock.clone());
    let pass = rig.enricher(client(), api.base()).run_once().expect("pass");
    assert_eq!(pass.filled, 1);
    assert_eq!(
        lines(&api),
        [
            format!("GET {ORDER_PATH}?access_token=tray-revoked HTTP/1.1"),
            "GET /auth?refresh_token=tray-refresh-1 HTTP/1.1".to_owned(),
            format!("GET {ORDER_PATH}?access_token=tray-access-1 HTTP/1.1"),
        ]
    );
    assert_eq!(rig.event(id).status, Status::Ok);
}

#[test]
fn enrich_tray_a_restart_between_renewal_and_use_keeps_the_new_refresh_token() {
    let rig = tray_rig("tray-refresh-1");
    let id = rig.receive_thin();
    let (api, tray) = tray_api(rig.clock.clone());
    *tray.order_status.lock().expect("status") = Some(503);
    // The renewal is stored, then the order call fails: the job waits for its next try.
    let pass = rig.enricher(client(), api.base()).run_once().expect("pass");
    assert_eq!(pass.retried, 1);
    assert_eq!(renewals(&api), 1);

    // The process stops here and starts again on the same file.
    let rig = rig.restarted();
    let kept = stored(&rig);
    assert_eq!(
        kept.get(REFRESH_TOKEN),
        Some("tray-refresh-2"),
        "survived the restart"
    );
    assert_eq!(
        kept.session.map(|s| s.access_token).as_deref(),
        Some("tray-access-1")
    );

    *tray.order_status.lock().expect("status") = None;
    let enricher = rig.enricher(client(), api.base());
    assert_eq!(next_pass(&rig, &enricher, id).filled, 1);
    assert_eq!(renewals(&api), 1, "the kept token, no second renewal");
    assert_eq!(rig.event(id).status, Status::Ok);
}

#[test]
fn enrich_tray_a_refused_renewal_ends_invalid_token_da_api() {
    // A refresh token Tray does not know (replaced by another tool, or mistyped).
    let rig = tray_rig("tray-refresh-9");
    let id = rig.receive_thin();
    let (api, _) = tray_api(rig.clock.clone());
    let pass = rig.enricher(client(), api.base()).run_once().expect("pass");
    assert_eq!((pass.given_up, pass.next_due), (1, None));
    let reason = rig.event(id).reason.expect("reason");
    assert_eq!(
        (reason.code, reason.detail.as_str()),
        (ReasonCode::ApiTokenInvalid, "token da API inválido")
    );
    assert_eq!(
        stored(&rig),
        tray_credentials("tray-refresh-9"),
        "nothing changed"
    );
    assert_eq!(rig.messages(id), 0);
}

#[test]
fn enrich_tray_a_refresh_token_past_its_30_days_is_said_as_expired() {
    let rig = tray_rig("tray-refresh-1");
    let (api, _) = tray_api(rig.clock.clone());
    let enricher = rig.enricher(client(), api.base());
    rig.receive_thin();
    assert_eq!(enricher.run_once().expect("pass").filled, 1);

    // No order for 31 days: the access token ended long ago, and the refresh token too.
    rig.clock.advance(31 * 86_400);
    let id = receive_order(&rig, 4_375_800);
    let pass = enricher.run_once().expect("pass");
    assert_eq!((pass.given_up, pass.next_due), (1, None));
    assert_eq!(renewals(&api), 2, "asked, refused");
    let reason = rig.event(id).reason.expect("reason");
    assert_eq!(
        (reason.code, reason.detail.as_str()),
        (
            ReasonCode::ApiTokenExpired,
            "o refresh token da Tray expirou: gere um novo no painel"
        )
    );
}

#[test]
fn enrich_a_tray_token_never_stays_in_what_is_kept_of_a_failed_call() {
    let rig = Rig::new(Platform::Tray);
    let id = rig.receive_thin();
    // The production policy refuses http: the error quotes the URL of the renewal, which holds
    // the refresh token.
    let enricher = rig.enricher(
        Client::new(Policy::platform_api()),
        ApiBase::StandIn("http://www.minhaloja.com.br/web_api".into()),
    );
    assert_eq!(enricher.run_once().expect("pass").given_up, 1);
    let record = rig.event(id);
    let shown = format!("{:?} {:?}", record.reason, rig.db.enrich_job(id));
    assert!(!shown.contains(TOKEN), "{shown}");
    assert_eq!(record.reason.expect("reason").code, ReasonCode::ApiNoAnswer);
}
