//! The only code that names redb: one data file holds everything. Typed functions in, typed
//! records out; no redb type leaks past this module. Callers on async code run these functions
//! on a blocking thread (`web::block` / `spawn_blocking`): a transaction never spans an `.await`.

mod accounts;
mod backup;
mod conversations;
mod data_dir;
mod events;
mod forget;
mod instances;
mod lgpd;
mod messages;
mod migrate;
mod outbox;
mod planning;
mod queue;
mod report_ledger;
mod reports;
mod settings;
mod stores;
mod tables;
mod wa_state;

use crate::domain::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use accounts::{ApiTokenRecord, NewUser, Role, SessionRecord, UserRecord};
pub use backup::{BackupSummary, Counts, RestoreError, restore, verify_backup};
pub use conversations::{ConversationEntry, ConversationKind, NewConversationEntry};
pub use events::{Delivery, EventFilter, EventRecord, RawDelivery, Recorded};
pub use forget::Forgotten;
pub use lgpd::{BuyerExport, ExportedEvent, ExportedRaw};
pub use messages::MessageFilter;
pub use migrate::SCHEMA_VERSION;
pub use outbox::{AttemptOutcome, ReceiptStatus};
pub use reports::{BuyerCount, BuyerFrequency, ReportFilter, ReportRows};
pub use wa_state::{WaOp, WaRead, WaRow, WaWrite};

/// The name of the data file inside the data directory.
pub const DATA_FILE: &str = "avisa.redb";

/// Why a storage call failed. Callers branch on the variants; `Db` is the rest.
#[derive(Debug)]
pub enum DbError {
    /// Another avisa process holds the data file.
    Locked(PathBuf),
    /// The file was written by a newer avisa; opening it could lose data.
    NewerSchema {
        found: u64,
        supported: u64,
    },
    NotFound,
    /// A unique value (e.g. an e-mail) is already taken.
    Conflict(String),
    Io(std::io::Error),
    Engine(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Locked(path) => write!(
                f,
                "another avisa is already running with the data directory {} (its data file is locked)",
                path.display()
            ),
            DbError::NewerSchema { found, supported } => write!(
                f,
                "the data file was written by a newer avisa (schema {found}; this avisa reads up to {supported}); \
                 upgrade avisa instead of opening it with this version"
            ),
            DbError::NotFound => f.write_str("not found"),
            DbError::Conflict(what) => write!(f, "already exists: {what}"),
            DbError::Io(e) => write!(f, "data directory: {e}"),
            DbError::Engine(e) => write!(f, "database: {e}"),
        }
    }
}

impl std::error::Error for DbError {}

macro_rules! db_error {
    ($($t:ty),*) => {$(
        impl From<$t> for DbError {
            fn from(e: $t) -> Self { DbError::Engine(e.to_string()) }
        }
    )*};
}
db_error!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<redb::DatabaseError> for DbError {
    fn from(e: redb::DatabaseError) -> Self {
        DbError::Engine(e.to_string())
    }
}

impl From<serde_json::Error> for DbError {
    fn from(e: serde_json::Error) -> Self {
        DbError::Engine(format!("stored record cannot be read: {e}"))
    }
}

/// Options for opening the data file.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// redb's page cache, in bytes.
    pub cache_bytes: usize,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The open data file. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Db {
    db: Arc<redb::Database>,
    path: PathBuf,
    /// Webhook token -> store, for the hot path; cleared by every write to stores.
    token_cache: Arc<std::sync::RwLock<std::collections::HashMap<String, Store>>>,
    /// The file was not closed cleanly last time (avisa killed, machine stopped) and redb
    /// repaired it while opening.
    repaired: bool,
}

impl Db {
    /// Opens (or creates) the data file in `dir`: directory 0700, file 0600, schema brought
    /// forward, a newer schema refused, a second process refused.
    pub fn open(dir: &Path, options: &DbOptions) -> Result<Db, DbError> {
        data_dir::create_private_dir(dir)?;
        let path = dir.join(DATA_FILE);
        data_dir::create_private_file(dir, &path)?;
        let repaired = Arc::new(AtomicBool::new(false));
        let noticed = repaired.clone();
        let db = redb::Builder::new()
            .set_cache_size(options.cache_bytes)
            .set_repair_callback(move |_| noticed.store(true, Ordering::Relaxed))
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => DbError::Locked(dir.to_path_buf()),
                other => DbError::from(other),
            })?;
        migrate::run(&db)?;
        Ok(Db {
            db: Arc::new(db),
            path,
            token_cache: Arc::default(),
            repaired: repaired.load(Ordering::Relaxed),
        })
    }

    /// The data file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether opening had to repair the file (it was not closed cleanly).
    pub fn was_repaired(&self) -> bool {
        self.repaired
    }

    /// Proves the database answers (for /readyz).
    pub fn ping(&self) -> Result<(), DbError> {
        use redb::ReadableDatabase;
        let read = self.db.begin_read()?;
        read.open_table(tables::META)?;
        Ok(())
    }

    pub(crate) fn redb(&self) -> &redb::Database {
        &self.db
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, DbError> {
    Ok(serde_json::to_vec(value)?)
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DbError> {
    Ok(serde_json::from_slice(bytes)?)
}

/// Runs a storage call on tokio's blocking pool, so a redb transaction never holds up an async
/// worker nor spans an `.await`. The one helper every async caller (console, API, outbox, inbox)
/// goes through.
pub async fn blocking<T, F>(f: F) -> Result<T, DbError>
where
    F: FnOnce() -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DbError::Engine(format!("blocking task: {e}")))?
}

/// Takes the next id of a sequence inside a write transaction.
fn next_id(txn: &redb::WriteTransaction, sequence: &str) -> Result<u64, DbError> {
    use redb::ReadableTable;
    let mut table = txn.open_table(tables::SEQUENCES)?;
    let next = table.get(sequence)?.map(|v| v.value()).unwrap_or(0) + 1;
    table.insert(sequence, next)?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_directory_gets_private_permissions_and_the_current_schema() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let db = Db::open(&dir, &DbOptions::default()).expect("open");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(db.path()), 0o600);
        db.ping().expect("ping");
    }

    #[test]
    fn a_file_left_open_is_repaired_on_the_next_open_and_a_closed_one_is_not() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (clean, killed) = (tmp.path().join("clean"), tmp.path().join("killed"));
        let db = Db::open(&clean, &DbOptions::default()).expect("open");
        assert!(!db.was_repaired(), "a new file needs no repair");
        // A copy of the file while it is open is what a killed avisa leaves behind.
        std::fs::create_dir(&killed).expect("mkdir");
        std::fs::copy(db.path(), killed.join(DATA_FILE)).expect("copy");
        drop(db);
        assert!(
            Db::open(&killed, &DbOptions::default())
                .expect("open")
                .was_repaired()
        );
        assert!(
            !Db::open(&clean, &DbOptions::default())
                .expect("reopen")
                .was_repaired()
        );
    }

    #[test]
    fn a_second_open_of_the_same_directory_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let _first = Db::open(tmp.path(), &DbOptions::default()).expect("open");
        match Db::open(tmp.path(), &DbOptions::default()) {
            Err(DbError::Locked(_)) => {}
            other => panic!("expected Locked, got {:?}", other.err()),
        }
    }

    #[test]
    fn a_file_from_a_newer_avisa_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let db = redb::Database::create(tmp.path().join(DATA_FILE)).expect("create");
            let txn = db.begin_write().expect("write");
            txn.open_table(tables::META)
                .expect("meta")
                .insert("schema_version", SCHEMA_VERSION + 1)
                .expect("insert");
            txn.commit().expect("commit");
        }
        match Db::open(tmp.path(), &DbOptions::default()) {
            Err(DbError::NewerSchema { found, supported }) => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            }
            other => panic!("expected NewerSchema, got {:?}", other.err()),
        }
    }
}

#[cfg(test)]
mod lgpd_tests;
#[cfg(test)]
mod planning_tests;
#[cfg(test)]
mod reports_tests;
