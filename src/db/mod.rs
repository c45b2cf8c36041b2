//! The only code that names redb: one data file holds everything. Typed functions in, typed
//! records out; no redb type leaks past this module. Callers on async code run these functions
//! on a blocking thread (`web::block` / `spawn_blocking`): a transaction never spans an `.await`.

mod accounts;
mod ask_reply;
mod backup;
mod bell;
mod compact;
mod conversations;
mod custom_kinds;
mod data_dir;
mod dedup;
mod deliverability;
mod enrichment;
mod events;
mod forget;
mod handle;
mod instances;
mod lgpd;
mod mappings;
mod media;
mod messages;
mod migrate;
mod order_memory;
mod outbound;
mod outbound_endpoints;
mod outbound_report;
mod outbound_retention;
mod outbound_sender;
mod outbox;
mod planning;
mod queue;
mod replies;
mod report_ledger;
mod reports;
mod settings;
mod stores;
mod tables;
mod wa_state;

use crate::domain::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use accounts::{ApiTokenRecord, NewUser, Role, SessionRecord, TokenScope, UserRecord};
pub use backup::{BackupSummary, Counts, RestoreError, restore, verify_backup};
pub use compact::{Activity, Compacted};
pub use conversations::{ConversationEntry, ConversationKind, NewConversationEntry};
pub use dedup::{dedup_merge_rings, wait_for_dedup_merge};
pub use enrichment::{
    ClaimedEnrichment, Finish, enrichment_rings, ring_enrichment, wait_for_enrichment,
};
pub use events::{Delivery, EncodedRaw, EventFilter, EventRecord, RawDelivery, Recorded};
pub use forget::Forgotten;
pub use lgpd::{BuyerExport, ExportedEvent, ExportedMedia, ExportedRaw};
pub use mappings::{HeldEvents, Reprocessed};
pub use messages::MessageFilter;
pub use migrate::SCHEMA_VERSION;
pub use outbound::{outbound_rings, ring_outbound, wait_for_outbound};
pub use outbound_endpoints::NewEndpoint;
pub use outbound_sender::Claimed;
pub use outbox::{AttemptOutcome, ReceiptStatus};
pub use replies::NewAttendantReply;
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
    /// The disk holding the data file is full: nothing was written; retry once space is freed.
    DiskFull,
    /// The data file is being reopened after an I/O failure, or avisa is stopping: retry shortly.
    Unavailable,
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
            DbError::DiskFull => f.write_str("the data directory's disk is full (disco cheio)"),
            DbError::Unavailable => f.write_str("the data file is being reopened; retry shortly"),
            DbError::Engine(e) => write!(f, "database: {e}"),
        }
    }
}

impl std::error::Error for DbError {}

macro_rules! db_error {
    ($($t:ident),*) => {$(
        impl From<redb::$t> for DbError {
            fn from(e: redb::$t) -> Self {
                match &e {
                    redb::$t::Storage(s) => handle::classify(s),
                    _ => None,
                }
                .unwrap_or_else(|| DbError::Engine(e.to_string()))
            }
        }
    )*};
}
db_error!(TransactionError, TableError, CommitError, DatabaseError);

impl From<redb::StorageError> for DbError {
    fn from(e: redb::StorageError) -> Self {
        handle::classify(&e).unwrap_or_else(|| DbError::Engine(e.to_string()))
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
    /// New dedup keys kept in the log (and in memory) before group commits move them to the
    /// merged index themselves (`db::dedup`): ~114 bytes each in memory (15 MB at the
    /// default bound).
    pub dedup_log_keys: usize,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            cache_bytes: 64 * 1024 * 1024,
            dedup_log_keys: 131_072,
        }
    }
}

/// The open data file. Cheap to clone; all clones share one database (and one `close`).
#[derive(Clone)]
pub struct Db {
    handle: Arc<handle::Handle>,
    path: PathBuf,
    /// Webhook token -> store, for the hot path; cleared by every write to stores.
    token_cache: Arc<std::sync::RwLock<std::collections::HashMap<String, Store>>>,
    /// Store id -> its mapping (or none), for the hot path; cleared by every mapping write.
    mapping_cache: mappings::MappingCache,
    /// Messages the intake has planned since the file was opened, counted after each commit:
    /// a webhook wakes the outbox only when its commit planned something.
    planned: Arc<std::sync::atomic::AtomicU64>,
    /// The dedup log's in-memory copy (`db::dedup`).
    dedup: dedup::Shared,
    dedup_log_keys: usize,
}

impl Db {
    /// Opens (or creates) the data file in `dir`: directory 0700, file 0600, schema brought
    /// forward, a newer schema refused, a second process refused.
    pub fn open(dir: &Path, options: &DbOptions) -> Result<Db, DbError> {
        data_dir::create_private_dir(dir)?;
        let path = dir.join(DATA_FILE);
        data_dir::create_private_file(dir, &path)?;
        let handle = handle::Handle::open(path.clone(), options.clone()).map_err(|e| match e {
            DbError::Locked(_) => DbError::Locked(dir.to_path_buf()),
            other => other,
        })?;
        Ok(Db {
            handle: Arc::new(handle),
            path,
            token_cache: Arc::default(),
            mapping_cache: Arc::default(),
            planned: Arc::default(),
            dedup: Arc::default(),
            dedup_log_keys: options.dedup_log_keys.max(1),
        })
    }

    /// How many messages intake commits have planned since the file was opened. Read before
    /// and after a delivery's commit: a change means there may be something new for the outbox.
    pub fn messages_planned(&self) -> u64 {
        self.planned.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The data file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Proves the database answers (for /readyz); a full disk counts as not ready.
    pub fn ping(&self) -> Result<(), DbError> {
        let result = (|| {
            let read = self.begin_read()?;
            read.open_table(tables::META)?;
            Ok(())
        })();
        if let Err(e) = &result {
            self.handle.note(e);
        }
        if self.handle.disk_full() {
            return Err(DbError::DiskFull);
        }
        result
    }

    /// Whether writes are refused because the disk is full (the console's "disco cheio" banner).
    pub fn disk_full(&self) -> bool {
        self.handle.disk_full()
    }

    /// Whether redb had to repair the file when it was last opened (it was not closed cleanly).
    pub fn repaired_on_open(&self) -> bool {
        self.handle.repaired()
    }

    /// Tells the handle about an error a storage call returned: a full disk is remembered and a
    /// latched file reopened (see `handle`). The intake writer calls it after a failed batch.
    pub fn note_failure(&self, e: &DbError) {
        self.handle.note(e);
    }

    /// Closes the data file for every clone: waits for the write in progress, marks the file
    /// clean (the next start needs no repair). Later calls answer `DbError::Unavailable`.
    pub fn close(&self) -> Result<(), DbError> {
        self.handle.close()
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction, DbError> {
        self.handle.begin_read()
    }

    fn begin_write(&self) -> Result<redb::WriteTransaction, DbError> {
        self.handle.begin_write()
    }

    #[cfg(test)]
    pub(crate) fn redb(&self) -> Arc<redb::Database> {
        self.handle.database().expect("the data file is open")
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
        assert!(!db.repaired_on_open(), "a new file needs no repair");
        // A copy of the file while it is open is what a killed avisa leaves behind.
        std::fs::create_dir(&killed).expect("mkdir");
        std::fs::copy(db.path(), killed.join(DATA_FILE)).expect("copy");
        drop(db);
        assert!(
            Db::open(&killed, &DbOptions::default())
                .expect("open")
                .repaired_on_open()
        );
        assert!(
            !Db::open(&clean, &DbOptions::default())
                .expect("reopen")
                .repaired_on_open()
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
mod compact_tests;
#[cfg(test)]
mod dedup_tests;
#[cfg(test)]
mod deliverability_tests;
#[cfg(test)]
mod handle_tests;
#[cfg(test)]
mod lgpd_tests;
#[cfg(test)]
mod mappings_tests;
#[cfg(test)]
mod order_memory_tests;
#[cfg(test)]
mod outbound_tests;
#[cfg(test)]
mod planning_tests;
#[cfg(test)]
mod reports_tests;
