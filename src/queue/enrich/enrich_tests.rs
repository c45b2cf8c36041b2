//! Thin notifications filled in, end to end on a real data file: the webhook's thin event waits
//! ("aguardando dados da plataforma"), the worker calls a loopback stand-in of the platform's
//! API through a real `net::Client` (the stand-in's host allowed explicitly), and the event
//! ends planned, or invalid with the reason: API up, down, slow, 401, malformed; a restart
//! mid-enrichment resumes; the production policy never reaches loopback.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ApiBase, Enricher, Pass};
use crate::db::{Db, DbOptions, Delivery, EventRecord, MessageFilter, RawDelivery};
use crate::domain::enrichment::{ApiCredentials, LEASE_S, RETRY_SCHEDULE_S};
use crate::domain::{Clock, EventId, EventKind, ManualClock, NewStore, Platform, StoreId};
use crate::ingest::enrich_tests::{raw, stand_in, thin_bodies};
use crate::ingest::{ReasonCode, Request, Status, recognise};
use crate::net::tls_stand_in::{Responder, answer_one};
use crate::net::{Client, Policy, Targets};

/// 2025-11-18 12:00 in Brasília (a Tuesday, outside quiet hours).
pub(super) const NOON: i64 = 1_763_478_000;
pub(super) const TOKEN: &str = "APP_USR-stand-in-token-0001";
pub(super) const STAND_IN_HOST: &str = "api.stand-in.test";

/// How a stand-in answers.
#[derive(Clone)]
pub(super) enum Mode {
    /// The documented answer of this stand-in file, for the expected path only (404 elsewhere).
    Up {
        path: String,
        file: &'static str,
    },
    Status(u16),
    /// 200 with something that is not the resource.
    Malformed,
}

/// A loopback stand-in of a platform's API: answers each connection by its mode (which the
/// test may change) and keeps each request's head.
pub(super) struct StandIn {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl StandIn {
    pub(super) fn start(mode: Mode) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("bound").port();
        let mode = Arc::new(Mutex::new(mode));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (m, h) = (mode.clone(), heads.clone());
        let respond: Responder = Arc::new(move |request: &str| {
            // The path without its query (Tray's token rides in it).
            let target = request.split(' ').nth(1).unwrap_or("/");
            let path = target.split('?').next().unwrap_or("/");
            match m.lock().expect("mode").clone() {
                Mode::Up { path: want, file } if want == path => stand_in(file),
                Mode::Up { .. } => (404, br#"{"message":"Not Found"}"#.to_vec()),
                Mode::Status(s) => (s, br#"{"message":"error"}"#.to_vec()),
                Mode::Malformed => (200, b"<html><body>Manutencao</body></html>".to_vec()),
            }
        });
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                answer_one(&mut stream, &respond, &h);
            }
        });
        StandIn { port, mode, heads }
    }

    pub(super) fn base(&self) -> String {
        format!("http://{STAND_IN_HOST}:{}", self.port)
    }

    pub(super) fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }
}

/// The platform policy with one explicit allowance: the stand-in's host, over HTTP.
pub(super) fn stand_in_client(timeout: Duration) -> Client {
    let policy = Policy {
        targets: Targets::PublicOnly {
            allowed_hosts: vec![STAND_IN_HOST.into()],
        },
        allow_http: true,
        timeout,
        ..Policy::platform_api()
    };
    let hosts = [(
        STAND_IN_HOST.to_owned(),
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    )];
    Client::with_hosts(policy, hosts.into_iter().collect())
}

pub(super) struct Rig {
    pub(super) _dir: tempfile::TempDir,
    pub(super) path: std::path::PathBuf,
    pub(super) db: Db,
    pub(super) clock: ManualClock,
    pub(super) store: StoreId,
    pub(super) platform: Platform,
}

impl Rig {
    /// The process stops and starts again on the same data file.
    pub(super) fn restarted(self) -> Rig {
        let Rig {
            _dir,
            path,
            db,
            clock,
            store,
            platform,
        } = self;
        drop(db);
        let db = Db::open(&path, &DbOptions::default()).expect("reopen");
        Rig {
            _dir,
            path,
            db,
            clock,
            store,
            platform,
        }
    }

    pub(super) fn new(platform: Platform) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data");
        let db = Db::open(&path, &DbOptions::default()).expect("open");
        let store = db
            .create_store(NewStore {
                name: "Loja".into(),
                slug: "loja".into(),
                platform,
                enabled: true,
                secret: None,
                webhook_token: "t0k3n".into(),
                created_at: 0,
            })
            .expect("store")
            .id;
        db.set_api_credentials(store, Some(&credentials(platform)))
            .expect("credentials");
        Rig {
            _dir: dir,
            path,
            db,
            clock: ManualClock::at(NOON),
            store,
            platform,
        }
    }

    /// The platform's thin notification arrives (and is answered: it is recorded).
    pub(super) fn receive_thin(&self) -> EventId {
        let body = thin_bodies()
            .into_iter()
            .find(|(p, ..)| *p == self.platform)
            .expect("a thin body")
            .1;
        self.receive(raw(&body))
    }

    /// Records `body` as the store's webhook would, at the clock's time: a new event.
    pub(super) fn receive(&self, body: Vec<u8>) -> EventId {
        let readings = recognise(self.platform, &Request::new(&body, &[], ""));
        let recorded = self
            .db
            .record_deliveries(&[Delivery {
                store_id: self.store,
                received_at: self.clock.now(),
                raw: RawDelivery {
                    body,
                    ..RawDelivery::default()
                },
                readings,
            }])
            .expect("recorded");
        match recorded[0][0] {
            crate::db::Recorded::New(id) => id,
            other => panic!("not new: {other:?}"),
        }
    }

    pub(super) fn enricher(&self, client: Client, base: ApiBase) -> Enricher {
        Enricher::new(
            self.db.clone(),
            Arc::new(client),
            Arc::new(self.clock.clone()),
            base,
        )
    }

    pub(super) fn event(&self, id: EventId) -> EventRecord {
        self.db.event(id).expect("event").0
    }

    pub(super) fn messages(&self, id: EventId) -> usize {
        self.db
            .list_messages(&MessageFilter {
                event_id: Some(id),
                limit: 100,
                ..MessageFilter::default()
            })
            .expect("messages")
            .len()
    }
}

/// Every field the platform needs, the token being `TOKEN`.
fn credentials(platform: Platform) -> ApiCredentials {
    let mut creds = ApiCredentials::token(TOKEN);
    if platform == Platform::Vtex {
        creds.set("account", "minhaloja".into());
        creds.set("app_key", "vtexappkey-minhaloja-ABC".into());
    }
    if platform == Platform::Pagbank {
        creds.set("email", "loja@example.com".into());
    }
    if platform == Platform::Tray {
        // Tray's lasting credential is the refresh token (`oauth_tests`: the access token).
        creds = ApiCredentials::default();
        creds.set("refresh_token", TOKEN.into());
        creds.set("api_address", "https://www.minhaloja.com.br/web_api".into());
    }
    creds
}

fn path_of(platform: Platform) -> String {
    thin_bodies()
        .into_iter()
        .find(|(p, ..)| *p == platform)
        .expect("body")
        .2
        .to_owned()
}

pub(super) fn file_of(platform: Platform) -> &'static str {
    match platform {
        Platform::Nuvemshop => "nuvemshop-order",
        Platform::Mercadopago => "mercadopago-payment",
        Platform::Vindi => "vindi-customer",
        Platform::Iugu => "iugu-invoice",
        Platform::Vtex => "vtex-order",
        Platform::Tray => "tray-order",
        Platform::Pagbank => "pagbank-transaction",
        _ => "asaas-customer",
    }
}

/// The platforms called with the merchant's own token (Tray, Mercado Livre and Efí obtain an
/// access token first: `oauth_tests`, `tray_tests`).
const PLATFORMS: [Platform; 7] = [
    Platform::Nuvemshop,
    Platform::Mercadopago,
    Platform::Asaas,
    Platform::Vindi,
    Platform::Iugu,
    Platform::Vtex,
    Platform::Pagbank,
];

/// The token as the platform carries it in the request head (lower case).
fn token_on_the_wire(platform: Platform) -> String {
    match platform {
        // HTTP Basic with the key as the user: base64("APP_USR-stand-in-token-0001:").
        Platform::Vindi | Platform::Iugu => {
            "basic QVBQX1VTUi1zdGFuZC1pbi10b2tlbi0wMDAxOg==".to_lowercase()
        }
        _ => TOKEN.to_lowercase(),
    }
}

#[test]
fn enrich_a_thin_event_waits_then_is_filled_in_and_planned() {
    for platform in PLATFORMS {
        let rig = Rig::new(platform);
        let id = rig.receive_thin();
        let waiting = rig.event(id);
        assert_eq!(waiting.status, Status::Awaiting, "{platform:?}");
        assert_eq!(rig.messages(id), 0);
        let job = rig.db.enrich_job(id).expect("read").expect("a job");
        assert_eq!(job.path, path_of(platform));

        let api = StandIn::start(Mode::Up {
            path: path_of(platform),
            file: file_of(platform),
        });
        let pass = rig
            .enricher(
                stand_in_client(Duration::from_secs(5)),
                ApiBase::StandIn(api.base()),
            )
            .run_once()
            .expect("pass");
        assert_eq!(pass.filled, 1, "{platform:?}");
        let event = rig.event(id);
        assert_eq!(event.status, Status::Ok, "{platform:?}: {:?}", event.reason);
        let e = event.event.as_ref().expect("event");
        assert_eq!(
            e.customer
                .phone
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .as_deref(),
            Some("+5511987654321")
        );
        assert!(matches!(
            e.kind,
            Some(EventKind::BoletoGenerated | EventKind::PixGenerated)
        ));
        assert!(rig.messages(id) > 0, "{platform:?}: planned");
        assert_eq!(rig.db.enrich_job(id).expect("read"), None);
        let head = api.heads().remove(0).to_lowercase();
        assert!(
            head.contains(&token_on_the_wire(platform)),
            "{platform:?}: {head}"
        );
    }
}

#[test]
fn enrich_a_refused_token_gives_up_at_once_as_invalid() {
    for platform in PLATFORMS {
        let rig = Rig::new(platform);
        let id = rig.receive_thin();
        let api = StandIn::start(Mode::Status(401));
        let pass = rig
            .enricher(
                stand_in_client(Duration::from_secs(5)),
                ApiBase::StandIn(api.base()),
            )
            .run_once()
            .expect("pass");
        assert_eq!((pass.given_up, pass.next_due), (1, None));
        let event = rig.event(id);
        assert_eq!(event.status, Status::Invalid);
        let reason = event.reason.expect("reason");
        assert_eq!(
            (reason.code, reason.detail.as_str()),
            (ReasonCode::ApiTokenInvalid, "token da API inválido"),
            "{platform:?}"
        );
        assert_eq!(rig.messages(id), 0);
    }
}

/// Steps the clock to the job's next call and runs a pass.
pub(super) fn next_pass(rig: &Rig, enricher: &Enricher, id: EventId) -> Pass {
    if let Some(job) = rig.db.enrich_job(id).expect("read") {
        let wait = job.next_at - rig.clock.now();
        rig.clock.advance(wait.max(0));
    }
    enricher.run_once().expect("pass")
}

#[test]
fn enrich_a_platform_that_is_down_is_called_again_on_the_schedule_then_given_up() {
    for platform in PLATFORMS {
        let rig = Rig::new(platform);
        let id = rig.receive_thin();
        // A port nothing listens on: connection refused.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let enricher = rig.enricher(
            stand_in_client(Duration::from_secs(5)),
            ApiBase::StandIn(format!("http://{STAND_IN_HOST}:{port}")),
        );
        let start = rig.clock.now();
        for (n, wait) in RETRY_SCHEDULE_S.iter().enumerate() {
            let pass = next_pass(&rig, &enricher, id);
            assert_eq!(pass.retried, 1, "call {n}");
            assert_eq!(rig.event(id).status, Status::Awaiting);
            assert_eq!(pass.next_due, Some(rig.clock.now() + wait));
        }
        let pass = next_pass(&rig, &enricher, id);
        assert_eq!(pass.given_up, 1);
        let event = rig.event(id);
        assert_eq!(event.status, Status::Invalid);
        let reason = event.reason.expect("reason");
        assert_eq!(reason.code, ReasonCode::ApiNoAnswer);
        assert_eq!(reason.detail, "a plataforma não respondeu");
        assert_eq!(
            rig.clock.now() - start,
            RETRY_SCHEDULE_S.iter().sum::<i64>()
        );
    }
}

#[test]
fn enrich_a_platform_back_up_after_failures_fills_the_event_in() {
    let rig = Rig::new(Platform::Nuvemshop);
    let id = rig.receive_thin();
    let api = StandIn::start(Mode::Status(503));
    let enricher = rig.enricher(
        stand_in_client(Duration::from_secs(5)),
        ApiBase::StandIn(api.base()),
    );
    assert_eq!(next_pass(&rig, &enricher, id).retried, 1);
    assert_eq!(next_pass(&rig, &enricher, id).retried, 1);
    let attempts = rig.db.enrich_job(id).expect("read").expect("job").attempts;
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(503); 2]
    );
    api.set(Mode::Up {
        path: path_of(Platform::Nuvemshop),
        file: file_of(Platform::Nuvemshop),
    });
    assert_eq!(next_pass(&rig, &enricher, id).filled, 1);
    assert_eq!(rig.event(id).status, Status::Ok);
    assert!(rig.messages(id) > 0);
}

#[test]
fn enrich_a_slow_platform_times_out_and_is_called_again() {
    let rig = Rig::new(Platform::Asaas);
    let id = rig.receive_thin();
    // Accepted by the kernel's backlog and never answered.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let enricher = rig.enricher(
        stand_in_client(Duration::from_millis(200)),
        ApiBase::StandIn(format!("http://{STAND_IN_HOST}:{port}")),
    );
    let pass = enricher.run_once().expect("pass");
    drop(silent);
    assert_eq!(pass.retried, 1);
    let job = rig.db.enrich_job(id).expect("read").expect("job");
    assert!(
        job.attempts[0].note.contains("timed out"),
        "{:?}",
        job.attempts
    );
    assert_eq!(rig.event(id).status, Status::Awaiting);
}

#[test]
fn enrich_a_malformed_answer_is_retried_then_invalid() {
    for platform in PLATFORMS {
        let rig = Rig::new(platform);
        let id = rig.receive_thin();
        let api = StandIn::start(Mode::Malformed);
        let enricher = rig.enricher(
            stand_in_client(Duration::from_secs(5)),
            ApiBase::StandIn(api.base()),
        );
        for _ in RETRY_SCHEDULE_S {
            assert_eq!(next_pass(&rig, &enricher, id).retried, 1, "{platform:?}");
        }
        assert_eq!(next_pass(&rig, &enricher, id).given_up, 1, "{platform:?}");
        let reason = rig.event(id).reason.expect("reason");
        assert_eq!(reason.code, ReasonCode::ApiUnreadable, "{platform:?}");
        assert_eq!(rig.messages(id), 0);
    }
}

#[test]
fn enrich_a_restart_mid_enrichment_resumes() {
    let rig = Rig::new(Platform::Mercadopago);
    let id = rig.receive_thin();
    // The worker claimed the job and the process died before the answer was recorded.
    let claimed = rig
        .db
        .claim_enrichments(rig.clock.now(), 16)
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let rig = rig.restarted();
    assert_eq!(rig.event(id).status, Status::Awaiting);
    let api = StandIn::start(Mode::Up {
        path: path_of(Platform::Mercadopago),
        file: file_of(Platform::Mercadopago),
    });
    let enricher = rig.enricher(
        stand_in_client(Duration::from_secs(5)),
        ApiBase::StandIn(api.base()),
    );
    // Held by the dead worker's lease until it ends.
    assert_eq!(enricher.run_once().expect("pass").filled, 0);
    assert_eq!(
        rig.db.next_enrichment_due().expect("due"),
        Some(rig.clock.now() + LEASE_S)
    );
    rig.clock.advance(LEASE_S);
    assert_eq!(enricher.run_once().expect("pass").filled, 1);
    assert_eq!(rig.event(id).status, Status::Ok);
    assert!(rig.messages(id) > 0);
}

#[test]
fn enrich_the_platform_policy_never_reaches_loopback() {
    let rig = Rig::new(Platform::Nuvemshop);
    let id = rig.receive_thin();
    let api = StandIn::start(Mode::Up {
        path: path_of(Platform::Nuvemshop),
        file: file_of(Platform::Nuvemshop),
    });
    let base = format!("https://127.0.0.1:{}", api.port);
    let enricher = rig.enricher(Client::new(Policy::platform_api()), ApiBase::StandIn(base));
    assert_eq!(enricher.run_once().expect("pass").given_up, 1);
    assert!(api.heads().is_empty(), "the stand-in was never called");
    let reason = rig.event(id).reason.expect("reason");
    assert_eq!(reason.code, ReasonCode::ApiNoAnswer);
}

#[test]
fn enrich_nothing_waits_without_credentials_and_a_removed_token_gives_up() {
    let rig = Rig::new(Platform::Asaas);
    rig.db
        .set_api_credentials(rig.store, None)
        .expect("removed");
    let id = rig.receive_thin();
    let event = rig.event(id);
    assert_eq!(event.status, Status::Invalid, "as without the feature");
    assert_eq!(event.reason.expect("reason").code, ReasonCode::NoPhone);
    assert_eq!(rig.db.enrich_job(id).expect("read"), None);

    rig.db
        .set_api_credentials(rig.store, Some(&ApiCredentials::token(TOKEN)))
        .expect("saved");
    let id = {
        rig.clock.advance(1);
        // Another delivery of another payment (its own dedup key).
        let body = thin_bodies()[2]
            .1
            .to_string()
            .replace("pay_uwtftbfred01ypwr", "pay_other")
            .into_bytes();
        rig.receive(body)
    };
    assert_eq!(rig.event(id).status, Status::Awaiting);
    rig.db
        .delete_store(rig.store, rig.clock.now())
        .expect("deleted");
    assert_eq!(rig.db.api_credentials(rig.store).expect("read"), None);
    let api = StandIn::start(Mode::Status(200));
    let enricher = rig.enricher(
        stand_in_client(Duration::from_secs(5)),
        ApiBase::StandIn(api.base()),
    );
    assert_eq!(enricher.run_once().expect("pass").given_up, 1);
    assert_eq!(
        rig.event(id).reason.expect("reason").code,
        ReasonCode::ApiNoCredentials
    );
    assert!(api.heads().is_empty());
}
