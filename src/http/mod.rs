//! The only code that names actix-web: the route table, auth extractors, console pages, JSON
//! API, static assets. Uses `db`, `ingest` and `domain`.
//!
//! Three audiences, three folders: `console/` (HTML pages by feature), `api/` (the JSON API) and
//! `operations/` (what both call; no actix types). `routes.rs` is the one table that names them.

mod api;
mod assets;
mod auth;
mod client;
mod console;
mod csrf;
mod download;
mod error;
mod health;
mod limits;
mod lognoise;
mod metrics;
mod operations;
pub mod password;
mod ratelimit;
pub mod routes;
mod samples;
pub mod slots;
mod ui;
mod webhook;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{App, HttpServer, middleware, web};

use crate::db::{Db, DbError};
use crate::domain::Clock;
use crate::domain::public_url::{PublicUrl, effective_public_url};

pub use actix_web::dev::{Server, ServerHandle};
pub use actix_web::web::Data;
pub use client::TrustedProxies;
pub use console::integrations::markdown as integrations_markdown;
pub use limits::Limits;
pub use lognoise::ConnectionNoise;
pub use metrics::Metrics;
pub use ui::{Ui, catalog_keys};

/// Template renders running at once (each is bounded by `render`'s fuel and output cap).
const RENDERING_AT_ONCE: usize = 2;

/// What the HTTP layer needs from the command line.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// `--public-url` / `AVISA_PUBLIC_URL`, when given: wins over the URL pública saved in
    /// Configurações. Read the effective URL with `AppState::public_url`, never this.
    pub public_url: Option<String>,
    /// The address avisa listens on as a URL (`http://127.0.0.1:8080`): the last resort.
    pub listen_url: String,
    /// Which peers' `X-Forwarded-For`/`Forwarded` tell the client's address.
    pub trusted_proxies: TrustedProxies,
}

/// Everything a handler can reach. Cloned per worker; the parts are shared.
pub struct AppState {
    pub db: Db,
    pub ui: Ui,
    pub config: HttpConfig,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub login_throttle: ratelimit::LoginThrottle,
    /// Password hashing off the async workers, a few at once.
    pub hashing: Arc<slots::Slots>,
    /// Template rendering for previews and saves, off the async workers, a few at once.
    pub rendering: Arc<slots::Slots>,
    /// Set once background workers run; /readyz reports it.
    pub workers_ready: Arc<AtomicBool>,
    /// The ingestion writer (group commit).
    pub intake: crate::queue::Intake,
    /// Every instance's live channel (state for the console, sends for the outbox).
    pub channels: Arc<crate::channels::Channels>,
    /// Wakes the outbox when something it waits for changed (a link, a reschedule, …).
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// The outbound webhook sender's thread holds a `Weak` of this and ends once the state
    /// (the server) is gone.
    pub outbound_alive: Arc<()>,
    /// The outbox's counters, once it runs.
    pub outbox_metrics: std::sync::OnceLock<Arc<crate::queue::outbox::OutboxMetrics>>,
    /// The URL pública saved in Configurações, kept here so every request need not read it.
    saved_public_url: Arc<std::sync::RwLock<String>>,
    /// Body deadline and connections per peer (`limits`).
    pub limits: Limits,
}

impl AppState {
    pub fn new(
        db: Db,
        config: HttpConfig,
        clock: Arc<dyn Clock>,
        intake: crate::queue::Intake,
    ) -> AppState {
        let saved = db
            .console_settings()
            .map(|s| s.public_url)
            .unwrap_or_default();
        AppState {
            db,
            ui: Ui::load(),
            config,
            metrics: Arc::new(Metrics::default()),
            clock,
            login_throttle: ratelimit::LoginThrottle::new(
                ratelimit::PER_CLIENT,
                ratelimit::PER_ACCOUNT,
                ratelimit::WINDOW_SECS,
            ),
            hashing: Arc::new(slots::Slots::new(password::HASHING_AT_ONCE)),
            rendering: Arc::new(slots::Slots::new(RENDERING_AT_ONCE)),
            workers_ready: Arc::new(AtomicBool::new(false)),
            intake,
            channels: Arc::default(),
            outbox_wake: Arc::default(),
            outbound_alive: Arc::default(),
            outbox_metrics: std::sync::OnceLock::new(),
            saved_public_url: Arc::new(std::sync::RwLock::new(saved)),
            limits: Limits::default(),
        }
    }

    /// The effective public URL (the flag, else Configurações, else the listener) and where it
    /// came from: the one answer to "where do platforms and people reach avisa". Webhook URLs,
    /// secure cookies and (issue 14) trusted proxies all ask here.
    pub fn public_url(&self) -> PublicUrl {
        let saved = self.saved_public_url.read().expect("lock").clone();
        effective_public_url(
            self.config.public_url.as_deref(),
            &saved,
            &self.config.listen_url,
        )
    }

    /// Remembers a URL pública just saved in Configurações.
    pub fn set_saved_public_url(&self, url: &str) {
        *self.saved_public_url.write().expect("lock") = url.to_owned();
    }

    /// Cookies carry `Secure` when avisa is reached over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url().url.starts_with("https://")
    }

    /// Runs a storage call off the async workers: `state.run(|db| db.list_stores()).await?`.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&Db) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        crate::db::blocking(move || {
            let result = f(&db);
            if let Err(e) = &result {
                // A full disk or a latched file: the storage layer remembers it and reopens.
                db.note_failure(e);
            }
            result
        })
        .await
    }
}

/// The console loads everything from avisa itself (no CDN) and has no inline script or style, so
/// the policy allows only its own origin: an injected `<script>` or `style` attribute does not
/// run. `data:` images cannot run script; the QR check of the browser tests draws through one.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// Features the console never uses, switched off for any page (and anything injected into one).
const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), \
interest-cohort=()";

/// API answers carry buyers' data and tokens: no cache (browser or proxy) keeps them.
async fn no_store_api(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let api = req.path().starts_with("/api/");
    let mut response = next.call(req).await?;
    if api {
        response.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(response)
}

/// Checks the caller against the route table's access before any handler runs. The table is
/// handed to `auth` as data here, so `auth` never names `routes`.
async fn require_access(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let access = routes::access_for(&req);
    auth::require_login(access, req, next).await
}

/// Builds the server on an already-bound listener. The caller awaits (or spawns) it and stops it
/// through its handle; actix-web itself stops on SIGTERM/SIGINT, finishing in-flight requests.
pub fn server(
    state: web::Data<AppState>,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let limits = state.limits.clone();
    let connections_per_worker = limits.connections_per_worker;
    let peers = limits::Peers::default();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(web::JsonConfig::default().limit(256 * 1024))
            .app_data(web::PayloadConfig::new(webhook::MAX_BODY))
            .configure(routes::configure)
            .default_service(web::to(console::not_found))
            .wrap(middleware::from_fn(console::html_errors))
            .wrap(middleware::from_fn(require_access))
            .wrap(middleware::from_fn(csrf::protect))
            .wrap(middleware::from_fn(metrics::record))
            .wrap(middleware::from_fn(limits::bound_requests))
            .wrap(
                middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
                    .add(("Permissions-Policy", PERMISSIONS_POLICY)),
            )
            .wrap(middleware::from_fn(no_store_api))
    })
    .on_connect(move |connection, data| peers.on_connect(&limits, connection, data))
    .workers(2)
    .max_connections(connections_per_worker)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}
