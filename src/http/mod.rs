//! The only code that names actix-web: the route table, auth extractors, console pages, JSON
//! API, static assets. Uses `db`, `ingest` and `domain`.
//!
//! Three audiences, three folders: `console/` (HTML pages by feature), `api/` (the JSON API) and
//! `operations/` (what both call; no actix types). `routes.rs` is the one table that names them.

mod api;
mod assets;
mod auth;
mod console;
mod csrf;
mod download;
mod error;
mod health;
mod limits;
mod metrics;
mod operations;
pub mod password;
mod ratelimit;
pub mod routes;
mod samples;
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

pub use actix_web::dev::{Server, ServerHandle};
pub use actix_web::web::Data;
pub use limits::Limits;
pub use metrics::Metrics;
pub use ui::{Ui, catalog_keys};

/// What the HTTP layer needs from the command line.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The address merchants and platforms reach avisa at, e.g. `https://avisa.minhaloja.com.br`.
    pub public_url: String,
}

impl HttpConfig {
    /// Cookies carry `Secure` when avisa is reached over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Everything a handler can reach. Cloned per worker; the parts are shared.
pub struct AppState {
    pub db: Db,
    pub ui: Ui,
    pub config: HttpConfig,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub login_limiter: ratelimit::RateLimiter,
    /// Set once background workers run; /readyz reports it.
    pub workers_ready: Arc<AtomicBool>,
    /// The ingestion writer (group commit).
    pub intake: crate::queue::Intake,
    /// Every instance's live channel (state for the console, sends for the outbox).
    pub channels: Arc<crate::channels::Channels>,
    /// Wakes the outbox when something it waits for changed (a link, a reschedule, …).
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// The outbox's counters, once it runs.
    pub outbox_metrics: std::sync::OnceLock<Arc<crate::queue::outbox::OutboxMetrics>>,
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
        AppState {
            db,
            ui: Ui::load(),
            config,
            metrics: Arc::new(Metrics::default()),
            clock,
            login_limiter: ratelimit::RateLimiter::new(5, 15 * 60),
            workers_ready: Arc::new(AtomicBool::new(false)),
            intake,
            channels: Arc::default(),
            outbox_wake: Arc::default(),
            outbox_metrics: std::sync::OnceLock::new(),
            limits: Limits::default(),
        }
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
                    .add(("Referrer-Policy", "same-origin")),
            )
    })
    .on_connect(move |connection, data| peers.on_connect(&limits, connection, data))
    .workers(2)
    .max_connections(1024)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}
