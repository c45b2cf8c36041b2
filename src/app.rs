//! Wiring: opens the data file, builds the HTTP server, starts background workers. `main` and the
//! integration tests both start avisa through `start`, on a listener they bound.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::domain::Clock;
use crate::http::{self, AppState, HttpConfig};
use crate::store::{Store, StoreError, StoreOptions};

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
}

/// A running avisa: await `server` (or spawn it) and stop it through its handle.
pub struct Running {
    pub server: http::Server,
    pub store: Store,
    pub public_url: String,
}

/// Opens the store, starts workers and builds the server on `listener`.
pub fn start(
    config: &ServeConfig,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
) -> Result<Running, StartError> {
    let store = Store::open(
        &config.data_dir,
        &StoreOptions {
            cache_bytes: config.cache_bytes,
        },
    )?;
    let addr = listener.local_addr().map_err(StartError::Io)?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| {
            let host = if addr.ip().is_unspecified() {
                "localhost".to_owned()
            } else {
                addr.ip().to_string()
            };
            format!("http://{host}:{}", addr.port())
        })
        .trim_end_matches('/')
        .to_owned();
    let intake = crate::queue::Intake::start(store.clone(), INTAKE_CAPACITY, INTAKE_BATCH);
    let state = AppState::new(
        store.clone(),
        HttpConfig {
            public_url: public_url.clone(),
        },
        clock.clone(),
        intake,
    );
    let ready = state.workers_ready.clone();
    spawn_session_sweeper(store.clone(), clock);
    ready.store(true, Ordering::SeqCst);
    let server = http::server(actix_web_data(state), listener).map_err(StartError::Io)?;
    Ok(Running {
        server,
        store,
        public_url,
    })
}

fn actix_web_data(state: AppState) -> http::Data<AppState> {
    http::Data::new(state)
}

/// Every ten minutes, forget sessions idle for longer than the configured limit.
fn spawn_session_sweeper(store: Store, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let store = store.clone();
            let now = clock.now();
            let result = tokio::task::spawn_blocking(move || {
                let idle = i64::from(store.console_settings()?.session_idle_minutes) * 60;
                store.purge_sessions(now - idle)
            })
            .await;
            match result {
                Ok(Ok(n)) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "session sweep failed"),
                Err(e) => tracing::warn!(error = %e, "session sweep task failed"),
            }
        }
    });
}

/// Why avisa could not start.
#[derive(Debug)]
pub enum StartError {
    Store(StoreError),
    Io(std::io::Error),
}

impl From<StoreError> for StartError {
    fn from(e: StoreError) -> Self {
        StartError::Store(e)
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Store(e) => write!(f, "{e}"),
            StartError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {}
