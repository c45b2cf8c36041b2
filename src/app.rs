//! Wiring: opens the data file, builds the HTTP server, starts background workers. `main` and the
//! integration tests both start avisa through `start`, on a listener they bound.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::channels::whatsapp::{self, Supervisors, WhatsappConfig};
use crate::db::{Db, DbError, DbOptions};
use crate::domain::Clock;
use crate::domain::housekeeping::{
    DAY, backup_due, backup_file_name, backups_to_prune, retention_cutoff,
};
use crate::http::{self, AppState, HttpConfig};
use crate::queue::channels::Channels;

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
    /// Where WhatsApp clients connect (WhatsApp Web unless a relay or a test server).
    pub whatsapp: WhatsappConfig,
}

/// A running avisa: await `server` (or spawn it) and stop it through its handle.
pub struct Running {
    pub server: http::Server,
    pub db: Db,
    pub public_url: String,
    /// Every instance's channel; `stop` ends the WhatsApp connections.
    pub channels: Arc<Channels>,
    pub whatsapp: Arc<Supervisors>,
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
    let intake = crate::queue::Intake::start(db.clone(), INTAKE_CAPACITY, INTAKE_BATCH);
    let mut state = AppState::new(
        db.clone(),
        HttpConfig {
            public_url: public_url.clone(),
        },
        clock.clone(),
        intake,
    );
    let supervisors = Arc::new(Supervisors::default());
    state.channels = Arc::new(Channels::with_whatsapp(whatsapp::factory(
        db.clone(),
        clock.clone(),
        config.whatsapp.clone(),
        supervisors.clone(),
    )));
    let channels = state.channels.clone();
    let ready = state.workers_ready.clone();
    spawn_session_sweeper(db.clone(), clock.clone());
    start_outbox(&db, &state, clock.clone())?;
    spawn_housekeeping(db.clone(), clock);
    ready.store(true, Ordering::SeqCst);
    let server = http::server(actix_web_data(state), listener).map_err(StartError::Io)?;
    Ok(Running {
        server,
        db,
        public_url,
        channels,
        whatsapp: supervisors,
    })
}

fn actix_web_data(state: AppState) -> http::Data<AppState> {
    http::Data::new(state)
}

/// Registers every instance's channel and starts the outbox loop.
fn start_outbox(db: &Db, state: &AppState, clock: Arc<dyn Clock>) -> Result<(), StartError> {
    for instance in db.list_instances()? {
        state.channels.ensure(&instance);
    }
    let clock_for_inbox = clock.clone();
    let outbox = crate::queue::outbox::Outbox::new(
        db.clone(),
        state.channels.clone(),
        clock,
        Arc::new(rand::random::<f64>),
    );
    state
        .outbox_metrics
        .set(outbox.metrics())
        .map_err(|_| StartError::Io(std::io::Error::other("outbox started twice")))?;
    outbox.spawn(state.outbox_wake.clone());
    crate::queue::inbox::Inbox::new(db.clone(), state.channels.clone(), clock_for_inbox).spawn();
    Ok(())
}

/// Every ten minutes, forget sessions idle for longer than the configured limit.
fn spawn_session_sweeper(db: Db, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let db = db.clone();
            let now = clock.now();
            let result = tokio::task::spawn_blocking(move || {
                let idle = i64::from(db.console_settings()?.session_idle_minutes) * 60;
                db.purge_sessions(now - idle)
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

/// Every hour: the scheduled backup when one is due (and pruning of old ones); once a day, the
/// retention sweep. The first check runs at start-up, so a server restarted daily still backs up.
fn spawn_housekeeping(db: Db, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        let mut last_retention: Option<i64> = None;
        loop {
            tick.tick().await;
            let now = clock.now();
            let retention = last_retention.is_none_or(|last| now - last >= DAY);
            let db = db.clone();
            let result =
                tokio::task::spawn_blocking(move || run_housekeeping(&db, now, retention)).await;
            match result {
                Ok(report) => {
                    if retention {
                        last_retention = Some(now);
                    }
                    if let Some(file) = &report.backup {
                        tracing::info!(file = %file.display(), pruned = report.pruned.len(), "scheduled backup written");
                    }
                    if report.raw_bodies_purged > 0 {
                        tracing::info!(
                            raw_bodies = report.raw_bodies_purged,
                            "retention: old raw bodies deleted"
                        );
                    }
                    for error in report.errors {
                        tracing::warn!(error, "housekeeping");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "housekeeping task failed"),
            }
        }
    });
}

/// What one housekeeping pass did.
#[derive(Debug, Default)]
pub struct HousekeepingReport {
    /// The scheduled backup written, if one was due.
    pub backup: Option<PathBuf>,
    /// Old scheduled backups deleted.
    pub pruned: Vec<PathBuf>,
    pub raw_bodies_purged: u64,
    pub errors: Vec<String>,
}

/// One pass of scheduled backup and (when `retention` is set) the retention sweep, at `now`.
/// Public so tests can step time instead of waiting for the hourly tick.
pub fn run_housekeeping(db: &Db, now: i64, retention: bool) -> HousekeepingReport {
    let mut report = HousekeepingReport::default();
    let settings = match db.ops_settings() {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(format!("settings: {e}"));
            return report;
        }
    };
    if settings.backup_enabled {
        let dir = if settings.backup_dir.is_empty() {
            db.path()
                .parent()
                .expect("the data file is inside the data directory")
                .join("backups")
        } else {
            PathBuf::from(&settings.backup_dir)
        };
        if let Err(e) = scheduled_backup(db, &dir, now, settings.backup_keep, &mut report) {
            report
                .errors
                .push(format!("scheduled backup in {}: {e}", dir.display()));
        }
    }
    if retention && let Some(cutoff) = retention_cutoff(now, settings.retention_days) {
        match db.purge_raw_bodies_before(cutoff) {
            Ok(n) => report.raw_bodies_purged = n,
            Err(e) => report.errors.push(format!("retention: {e}")),
        }
    }
    report
}

fn scheduled_backup(
    db: &Db,
    dir: &std::path::Path,
    now: i64,
    keep: u32,
    report: &mut HousekeepingReport,
) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let names = |dir: &std::path::Path| -> Result<Vec<String>, String> {
        Ok(std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect())
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| e.to_string())?;
    if !backup_due(&names(dir)?, now) {
        return Ok(());
    }
    let file = dir.join(backup_file_name(now));
    db.backup_to(&file).map_err(|e| e.to_string())?;
    report.backup = Some(file);
    for name in backups_to_prune(&names(dir)?, keep) {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => report.pruned.push(path),
            Err(e) => report.errors.push(format!("{}: {e}", path.display())),
        }
    }
    Ok(())
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
