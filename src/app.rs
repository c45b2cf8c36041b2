//! Wiring only: opens the data file, builds the channel registry and the HTTP server, and starts
//! the background jobs (`jobs/`). `main` and the integration tests both start avisa through
//! `start`, on a listener they bound.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::channels::Channels;
use crate::channels::whatsapp::{self, Supervisors, WhatsappConfig};
use crate::db::{Db, DbError, DbOptions};
use crate::domain::Clock;
use crate::http::{self, AppState, HttpConfig};
use crate::jobs;

/// Deliveries that may wait for the intake writer before new ones get 503 (bounded memory:
/// at most this many bodies of up to 1 MiB each).
const INTAKE_CAPACITY: usize = 1024;
/// Deliveries written in one transaction at most.
const INTAKE_BATCH: usize = 256;

/// What `avisa serve` needs before the database opens (everything else lives in redb).
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    /// Shown in webhook URLs; defaults to the listen address.
    pub public_url: Option<String>,
    pub cache_bytes: usize,
    /// Which peers may tell the client's address (login throttling behind a reverse proxy).
    pub trusted_proxies: http::TrustedProxies,
    /// Where WhatsApp clients connect (WhatsApp Web unless a relay or a test server).
    pub whatsapp: WhatsappConfig,
    /// Body deadline and connections per peer.
    pub limits: http::Limits,
    /// Tests only: the base URL of a loopback stand-in of the platforms' APIs, whose host the
    /// enrichment worker is then allowed to reach. Never read from the command line or the
    /// environment; `None` calls each platform's own API under the public-HTTPS policy.
    pub platform_api_stand_in: Option<String>,
}

/// A running avisa: await `server` (or spawn it) and stop it through its handle.
pub struct Running {
    pub server: http::Server,
    pub db: Db,
    pub public_url: String,
    /// Every instance's channel; `stop` ends the WhatsApp connections.
    pub channels: Arc<Channels>,
    pub whatsapp: Arc<Supervisors>,
    /// Login password hashing (tests pause it to hold logins mid-way).
    pub hashing: Arc<http::slots::Slots>,
    /// Template rendering for previews and saves (tests pause it the same way).
    pub rendering: Arc<http::slots::Slots>,
}

impl Running {
    /// Stops every WhatsApp connection and waits (bounded) until their state is flushed. Call
    /// after the server stopped.
    pub async fn stop_channels(channels: &Channels, whatsapp: &Supervisors) {
        channels.shutdown();
        whatsapp.wait_stopped(Duration::from_secs(15)).await;
    }
}

/// Opens the store, starts workers and builds the server on `listener`.
pub fn start(
    config: &ServeConfig,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
) -> Result<Running, StartError> {
    let db = Db::open(
        &config.data_dir,
        &DbOptions {
            cache_bytes: config.cache_bytes,
            ..DbOptions::default()
        },
    )?;
    let addr = listener.local_addr().map_err(StartError::Io)?;
    let host = if addr.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        addr.ip().to_string()
    };
    let listen_url = format!("http://{host}:{}", addr.port());
    let intake = crate::queue::Intake::start(db.clone(), INTAKE_CAPACITY, INTAKE_BATCH);
    let mut state = AppState::new(
        db.clone(),
        HttpConfig {
            public_url: config.public_url.clone(),
            listen_url,
            trusted_proxies: config.trusted_proxies.clone(),
        },
        clock.clone(),
        intake,
    );
    let public_url = state.public_url().url;
    state.limits = config.limits.clone();
    let supervisors = Arc::new(Supervisors::default());
    state.channels = Arc::new(Channels::with_whatsapp(whatsapp::factory(
        db.clone(),
        clock.clone(),
        config.whatsapp.clone(),
        supervisors.clone(),
    )));
    let channels = state.channels.clone();
    let hashing = state.hashing.clone();
    let rendering = state.rendering.clone();
    let ready = state.workers_ready.clone();
    jobs::spawn_session_sweeper(db.clone(), clock.clone());
    jobs::start_senders(&db, &state, clock.clone())?;
    jobs::start_outbound(&db, &state, clock.clone());
    jobs::start_enrichment(
        &db,
        &state,
        clock.clone(),
        config.platform_api_stand_in.as_deref(),
    );
    jobs::spawn_pairing_watch(db.clone(), state.channels.clone(), clock.clone());
    jobs::spawn_housekeeping(db.clone(), clock);
    ready.store(true, Ordering::SeqCst);
    let server = http::server(actix_web_data(state), listener).map_err(StartError::Io)?;
    Ok(Running {
        server,
        db,
        public_url,
        channels,
        whatsapp: supervisors,
        hashing,
        rendering,
    })
}

fn actix_web_data(state: AppState) -> http::Data<AppState> {
    http::Data::new(state)
}

/// Why avisa could not start.
#[derive(Debug)]
pub enum StartError {
    Db(DbError),
    Io(std::io::Error),
}

impl From<DbError> for StartError {
    fn from(e: DbError) -> Self {
        StartError::Db(e)
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Db(e) => write!(f, "{e}"),
            StartError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {}
