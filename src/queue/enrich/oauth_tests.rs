//! Mercado Livre and Efí filled in, end to end on a real data file against loopback stand-ins
//! of their APIs (documented answers from `tests/fixtures/enrich/`): the access token obtained
//! with the merchant's credentials and kept until it expires; Mercado Livre's single-use refresh
//! token replaced by the next one, stored before the order is fetched (a restart in between
//! keeps it); a kept token answered 401 replaced once; a refused grant; Efí's charge over mutual
//! TLS with the store's certificate (the stand-in requires one), and a certificate it refuses.
//!
//! The webhook itself was answered long before: `record_deliveries` holds the event and queues
//! the job in the notification's own transaction, and no call to the platform is made until the
//! worker runs — which is how Mercado Livre's 500 ms answer is kept (`Rig::receive_thin` records
//! with no stand-in even started).

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::ApiBase;
use super::enrich_tests::{NOON, Rig, STAND_IN_HOST, next_pass, stand_in_client};
use crate::domain::Platform;
use crate::domain::enrichment::{ApiCredentials, ApiSession, RETRY_SCHEDULE_S};
use crate::ingest::ReasonCode;
use crate::ingest::Status;
use crate::ingest::enrich_oauth::{CERTIFICATE, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN};
use crate::ingest::enrich_tests::stand_in;
use crate::net::tls_stand_in::{Pki, Responder, TlsStandIn, answer_one};
use crate::net::{Client, Policy, Roots, Targets};

/// A loopback HTTP stand-in answering each request (head and body) with `respond`.
pub(super) struct Api {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Api {
    pub(super) fn start(respond: Responder) -> Api {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("bound").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                answer_one(&mut stream, &respond, &seen);
            }
        });
        Api { port, requests }
    }

    pub(super) fn base(&self) -> ApiBase {
        ApiBase::StandIn(format!("http://{STAND_IN_HOST}:{}", self.port))
    }

    pub(super) fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }

    fn token_calls(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.starts_with("POST /oauth/token "))
            .collect()
    }
}

const ORDER_PATH: &str = "/orders/2195160686";

/// The merchant's Mercado Livre credentials as pasted: no access token yet.
fn ml_credentials(refresh: &str) -> ApiCredentials {
    credentials(&[
        (CLIENT_ID, "5503910054141466"),
        (CLIENT_SECRET, "ml-client-secret"),
        (REFRESH_TOKEN, refresh),
    ])
}

fn credentials(fields: &[(&str, &str)]) -> ApiCredentials {
    let mut creds = ApiCredentials::default();
    for (name, value) in fields {
        creds.set(name, (*value).to_owned());
    }
    creds
}

fn ml_rig() -> Rig {
    let rig = Rig::new(Platform::Mercadolivre);
    rig.db
        .set_api_credentials(rig.store, Some(&ml_credentials("TG-0001")))
        .expect("credentials");
    rig
}

/// Mercado Livre's API as documented: each grant spends the refresh token it is given and
/// returns the next one (`TG-000{n+1}`) with a new access token (`APP_USR-access-{n}`); a spent
/// refresh token is `invalid_grant`. The order answers only to the latest access token.
struct Ml {
    grants: AtomicUsize,
    order: &'static str,
    /// Answer the order with this status instead (503: down for a while).
    order_status: Mutex<Option<u16>>,
}

fn ml_api(order: &'static str) -> (Api, Arc<Ml>) {
    let ml = Arc::new(Ml {
        grants: AtomicUsize::new(0),
        order,
        order_status: Mutex::new(None),
    });
    let state = ml.clone();
    let api = Api::start(Arc::new(move |request: &str| {
        let n = state.grants.load(Ordering::SeqCst);
        if request.starts_with("POST /oauth/token ") {
            let current = format!("refresh_token=TG-000{}", n + 1);
            if !request.ends_with(&current) {
                return (
                    400,
                    br#"{"error":"invalid_grant","error_description":"Error validating grant.","status":400}"#
                        .to_vec(),
                );
            }
            let n = state.grants.fetch_add(1, Ordering::SeqCst) + 1;
            let (_, body) = stand_in("mercadolivre-token");
            let mut grant: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            grant["access_token"] = format!("APP_USR-access-{n}").into();
            grant["refresh_token"] = format!("TG-000{}", n + 1).into();
            return (200, serde_json::to_vec(&grant).expect("JSON"));
        }
        if request.starts_with(&format!("GET {ORDER_PATH} ")) {
            let bearer = format!("authorization: bearer app_usr-access-{n}\r\n");
            if n == 0 || !request.to_lowercase().contains(&bearer) {
                return (
                    401,
                    br#"{"message":"invalid access token","error":"not_found","status":401,"cause":[]}"#
                        .to_vec(),
                );
            }
            if let Some(status) = *state.order_status.lock().expect("status") {
                return (status, br#"{"message":"unavailable"}"#.to_vec());
            }
            return stand_in(state.order);
        }
        (404, br#"{"message":"not found"}"#.to_vec())
    }));
    (api, ml)
}

pub(super) fn client() -> Client {
    stand_in_client(Duration::from_secs(5))
}

#[test]
fn enrich_mercadolivre_obtains_a_token_stores_the_next_refresh_token_and_reads_the_order() {
    let rig = ml_rig();
    let id = rig.receive_thin();
    assert_eq!(rig.event(id).status, Status::Awaiting);
    let (api, _) = ml_api("mercadolivre-order");
    assert!(api.requests().is_empty(), "answered before any call");
    let pass = rig.enricher(client(), api.base()).run_once().expect("pass");
    assert_eq!(pass.filled, 1);

    let tokens = api.token_calls();
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].contains("grant_type=refresh_token"));
    assert!(tokens[0].contains("client_id=5503910054141466"));
    let stored = rig
        .db
        .api_credentials(rig.store)
        .expect("read")
        .expect("kept");
    assert_eq!(stored.get(REFRESH_TOKEN), Some("TG-0002"), "the next one");
    let session = stored.session.as_ref().expect("the access token is kept");
    assert_eq!(session.access_token, "APP_USR-access-1");
    assert_eq!(session.expires_at, NOON + 21_600);

    // Mercado Livre does not share the buyer's phone: the event says so, nothing is sent.
    let event = rig.event(id);
    assert_eq!(event.status, Status::Invalid);
    let reason = event.reason.expect("reason");
    assert_eq!(reason.code, ReasonCode::PhoneWithheld);
    assert!(reason.detail.contains("não compartilha o telefone"));
    assert_eq!(
        event.event.and_then(|e| e.total_cents),
        Some(49_900),
        "the order was read"
    );
    assert_eq!(rig.messages(id), 0);
}

#[test]
fn enrich_mercadolivre_an_order_with_the_buyer_phone_is_planned() {
    let rig = ml_rig();
    let id = rig.receive_thin();
    let (api, _) = ml_api("mercadolivre-order-with-phone");
    assert_eq!(
        rig.enricher(client(), api.base())
            .run_once()
            .expect("pass")
            .filled,
        1
    );
    assert_eq!(rig.event(id).status, Status::Ok);
    assert!(rig.messages(id) > 0, "planned");
}

/// Another order notification of the store (its own order, its own event).
fn receive_order(rig: &Rig, order: u64) -> crate::domain::EventId {
    let body = serde_json::json!({
        "_id": format!("n-{order}"), "resource": format!("/orders/{order}"),
        "user_id": 468424240, "topic": "orders_v2", "attempts": 1,
        "sent": "2019-10-30T16:19:20.129Z", "received": "2019-10-30T16:19:20.106Z"
    })
    .to_string()
    .into_bytes();
    let readings = crate::ingest::recognise(
        Platform::Mercadolivre,
        &crate::ingest::Request::new(&body, &[], ""),
    );
    let recorded = rig
        .db
        .record_deliveries(&[crate::db::Delivery {
            store_id: rig.store,
            received_at: crate::domain::Clock::now(&rig.clock),
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
fn enrich_mercadolivre_the_access_token_is_kept_until_it_expires_then_refreshed() {
    let rig = ml_rig();
    let (api, _) = ml_api("mercadolivre-order");
    let enricher = rig.enricher(client(), api.base());
    rig.receive_thin();
    enricher.run_once().expect("pass");
    assert_eq!(api.token_calls().len(), 1);

    // Five hours later: the kept token still serves (the 404 of another order is its answer).
    rig.clock.advance(5 * 3_600);
    let other = receive_order(&rig, 2_195_160_687);
    enricher.run_once().expect("pass");
    assert_eq!(api.token_calls().len(), 1, "no new grant");
    assert_eq!(
        rig.event(other).reason.map(|r| r.code),
        Some(ReasonCode::ApiNotFound)
    );

    // Past six hours: a new grant with the stored refresh token, and the next one kept.
    rig.clock.advance(3_600);
    receive_order(&rig, 2_195_160_688);
    enricher.run_once().expect("pass");
    let tokens = api.token_calls();
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens[1].ends_with("refresh_token=TG-0002"),
        "{}",
        tokens[1]
    );
    let stored = rig
        .db
        .api_credentials(rig.store)
        .expect("read")
        .expect("kept");
    assert_eq!(stored.get(REFRESH_TOKEN), Some("TG-0003"));
}

#[test]
fn enrich_mercadolivre_a_kept_token_answered_401_is_replaced_once_and_the_call_made_again() {
    let rig = ml_rig();
    // A token kept from before that Mercado Livre no longer takes (revoked, or expired early).
    let kept = ApiCredentials {
        session: Some(ApiSession::new("APP_USR-revoked".into(), 21_600, NOON)),
        ..ml_credentials("TG-0001")
    };
    rig.db
        .set_api_credentials(rig.store, Some(&kept))
        .expect("credentials");
    let id = rig.receive_thin();
    let (api, _) = ml_api("mercadolivre-order");
    let pass = rig.enricher(client(), api.base()).run_once().expect("pass");
    assert_eq!(pass.filled, 1);
    let calls: Vec<String> = api
        .requests()
        .iter()
        .map(|r| r.lines().next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        calls,
        [
            format!("GET {ORDER_PATH} HTTP/1.1"),
            "POST /oauth/token HTTP/1.1".to_owned(),
            format!("GET {ORDER_PATH} HTTP/1.1"),
        ]
    );
    assert_eq!(
        rig.event(id).reason.map(|r| r.code),
        Some(ReasonCode::PhoneWithheld)
    );
}

#[test]
fn enrich_mercadolivre_a_refused_refresh_token_ends_invalid_token_da_api() {
    let rig = ml_rig();
    // A refresh token already spent (by another tool using the same app, say).
    rig.db
        .set_api_credentials(rig.store, Some(&ml_credentials("TG-0009")))
        .expect("credentials");
    let id = rig.receive_thin();
    let (api, _) = ml_api("mercadolivre-order");
    let pass = rig.enricher(client(), api.base()).run_once().expect("pass");
    assert_eq!((pass.given_up, pass.next_due), (1, None));
    let reason = rig.event(id).reason.expect("reason");
    assert_eq!(reason.code, ReasonCode::ApiTokenInvalid);
    assert_eq!(reason.detail, "token da API inválido");
    let stored = rig
        .db
        .api_credentials(rig.store)
        .expect("read")
        .expect("kept");
    assert_eq!(stored, ml_credentials("TG-0009"), "nothing changed");
}

#[test]
fn enrich_mercadolivre_a_restart_between_refresh_and_use_keeps_the_new_refresh_token() {
    let rig = ml_rig();
    let id = rig.receive_thin();
    let (api, ml) = ml_api("mercadolivre-order");
    *ml.order_status.lock().expect("status") = Some(503);
    // The grant is stored, then the order call fails: the job waits for its next try.
    let pass = rig.enricher(client(), api.base()).run_once().expect("pass");
    assert_eq!(pass.retried, 1);
    assert_eq!(api.token_calls().len(), 1);

    // The process stops here and starts again on the same file.
    let rig = rig.restarted();
    let stored = rig
        .db
        .api_credentials(rig.store)
        .expect("read")
        .expect("kept");
    assert_eq!(
        stored.get(REFRESH_TOKEN),
        Some("TG-0002"),
        "survived the restart"
    );
    assert_eq!(
        stored.session.map(|s| s.access_token).as_deref(),
        Some("APP_USR-access-1")
    );

    *ml.order_status.lock().expect("status") = None;
    let enricher = rig.enricher(client(), api.base());
    assert_eq!(next_pass(&rig, &enricher, id).filled, 1);
    assert_eq!(
        api.token_calls().len(),
        1,
        "the kept token, no second grant"
    );
    assert_eq!(
        rig.event(id).reason.map(|r| r.code),
        Some(ReasonCode::PhoneWithheld)
    );
}

#[test]
fn enrich_mercadolivre_token_endpoint_down_or_malformed_is_called_again_then_given_up() {
    let rig = ml_rig();
    let id = rig.receive_thin();
    let api = Api::start(Arc::new(|request: &str| {
        if request.starts_with("POST /oauth/token ") {
            (200, b"<html>manutencao</html>".to_vec())
        } else {
            (500, b"{}".to_vec())
        }
    }));
    let enricher = rig.enricher(client(), api.base());
    let pass = next_pass(&rig, &enricher, id);
    assert_eq!(pass.retried, 1);
    let job = rig.db.enrich_job(id).expect("read").expect("job");
    assert!(job.attempts[0].note.contains("token"), "{:?}", job.attempts);
    for _ in 1..RETRY_SCHEDULE_S.len() {
        assert_eq!(next_pass(&rig, &enricher, id).retried, 1);
    }
    assert_eq!(next_pass(&rig, &enricher, id).given_up, 1);
    assert_eq!(
        rig.event(id).reason.map(|r| r.code),
        Some(ReasonCode::ApiUnreadable)
    );
    assert_eq!(
        rig.db.api_credentials(rig.store).expect("read"),
        Some(ml_credentials("TG-0001")),
        "nothing stored from an unreadable grant"
    );

    // Down (connection refused): called again on the schedule, the refresh token kept.
    let rig = ml_rig();
    let id = rig.receive_thin();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let down = ApiBase::StandIn(format!("http://{STAND_IN_HOST}:{port}"));
    assert_eq!(
        rig.enricher(client(), down)
            .run_once()
            .expect("pass")
            .retried,
        1
    );
    assert_eq!(rig.event(id).status, Status::Awaiting);
}

const EFI_HOST: &str = "pix.stand-in.test";
const COB_PATH: &str = "/v2/cob/fc9a43k6ff384ryP5f41719";

/// Efí's Pix API over mutual TLS: the grant wants HTTP Basic, the charge the access token.
fn efi_api(dir: &std::path::Path, pki: &Pki) -> TlsStandIn {
    TlsStandIn::start(
        dir,
        pki,
        Arc::new(|request: &str| {
            let lower = request.to_lowercase();
            if request.starts_with("POST /oauth/token ") {
                // base64("Client_Id_efi:Client_Secret_efi")
                if !request.contains("Basic Q2xpZW50X0lkX2VmaTpDbGllbnRfU2VjcmV0X2VmaQ==")
                    || !request.ends_with(r#"{"grant_type":"client_credentials"}"#)
                {
                    return (401, br#"{"error":"invalid_client"}"#.to_vec());
                }
                return stand_in("efi-token");
            }
            if request.starts_with(&format!("GET {COB_PATH} "))
                && lower
                    .contains("authorization: bearer eyjhbgcioijiuzi1nij9.stand-in-efi-access-0001")
            {
                return stand_in("efi-cob");
            }
            (401, br#"{"nome":"nao_autorizado"}"#.to_vec())
        }),
    )
}

fn efi_client(pki: &Pki) -> Client {
    let policy = Policy {
        targets: Targets::PublicOnly {
            allowed_hosts: vec![EFI_HOST.into()],
        },
        // The stand-in's CA, named here and nowhere else.
        roots: Roots::OnlyCa(pki.ca.clone()),
        ..Policy::platform_api()
    };
    let hosts = [(EFI_HOST.to_owned(), vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])];
    Client::with_hosts(policy, hosts.into_iter().collect())
}

fn efi_rig(certificate: &str) -> Rig {
    let rig = Rig::new(Platform::Efi);
    let creds = credentials(&[
        (CLIENT_ID, "Client_Id_efi"),
        (CLIENT_SECRET, "Client_Secret_efi"),
        (CERTIFICATE, certificate),
    ]);
    rig.db
        .set_api_credentials(rig.store, Some(&creds))
        .expect("credentials");
    rig
}

#[test]
fn enrich_efi_the_charge_is_read_over_mutual_tls_with_the_store_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(dir.path(), EFI_HOST);
    let api = efi_api(dir.path(), &pki);
    let rig = efi_rig(&pki.client);
    let id = rig.receive_thin();
    assert_eq!(rig.event(id).status, Status::Awaiting);
    let base = ApiBase::StandIn(format!("https://{EFI_HOST}:{}", api.port));
    let pass = rig
        .enricher(efi_client(&pki), base)
        .run_once()
        .expect("pass");
    assert_eq!(pass.filled, 1);
    assert_eq!(api.requests().len(), 2, "the grant, then the charge");

    let event = rig.event(id);
    assert_eq!(
        event.reason.as_ref().map(|r| r.code),
        Some(ReasonCode::PhoneWithheld)
    );
    let e = event.event.expect("event");
    assert_eq!(e.total_cents, Some(1));
    assert!(e.payment.pix_code.is_some());
    assert_eq!(e.customer.name.as_deref(), Some("Maria Teste"));
    let stored = rig
        .db
        .api_credentials(rig.store)
        .expect("read")
        .expect("kept");
    assert_eq!(stored.session.map(|s| s.expires_at), Some(NOON + 3_600));
}

#[test]
fn enrich_efi_a_certificate_the_platform_refuses_ends_invalid_saying_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(dir.path(), EFI_HOST);
    let api = efi_api(dir.path(), &pki);
    let rig = efi_rig(&pki.stranger);
    let id = rig.receive_thin();
    let base = ApiBase::StandIn(format!("https://{EFI_HOST}:{}", api.port));
    let pass = rig
        .enricher(efi_client(&pki), base)
        .run_once()
        .expect("pass");
    assert_eq!(pass.given_up, 1);
    let reason = rig.event(id).reason.expect("reason");
    assert_eq!(reason.code, ReasonCode::ApiCertificateRefused);
    assert_eq!(reason.detail, "a plataforma recusou o certificado da loja");
    assert!(
        api.requests().is_empty(),
        "nothing got through the handshake"
    );
}
