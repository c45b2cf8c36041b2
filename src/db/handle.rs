//! The open redb file behind every `Db` clone, and its two ways out: an orderly close (SIGTERM:
//! the writer drained, the file marked clean, so the next start needs no repair scan) and a reopen
//! after an I/O failure. redb latches any failed write (a full disk, typically) and refuses every
//! later transaction until the file is closed and opened again, which repairs it, and a repair
//! writes. So the handle keeps a reserve file beside the data file: on a full disk it deletes the
//! reserve, reopens the file in the room that made (reads work again: the console can say
//! "disco cheio"), and refuses writes until the disk has room for the reserve again.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use redb::{ReadableDatabase, StorageError, TransactionError};

use super::{DbError, DbOptions, migrate};

/// The reserve: room kept on the disk for the reopen (repair) after a disk-full failure.
const RESERVE_BYTES: u64 = 16 * 1024 * 1024;
/// Free space, besides the reserve, before writes resume after a disk-full failure.
const HEADROOM_BYTES: u64 = 16 * 1024 * 1024;
/// The reserve's name inside the data directory.
const RESERVE_FILE: &str = "avisa.reserve";

pub(super) struct Handle {
    path: PathBuf,
    options: DbOptions,
    /// The open file; `None` while it is being reopened or once it was closed.
    current: RwLock<Option<Arc<redb::Database>>>,
    /// Bumped by each reopen, so concurrent callers that saw the same failure reopen once.
    generation: AtomicU64,
    /// One reopen (or close) at a time.
    reopening: Mutex<()>,
    /// Set by `close`: nothing opens the file again.
    closed: AtomicBool,
    /// The last write failed for lack of space and no probe has succeeded since.
    disk_full: AtomicBool,
    /// redb scanned and repaired the file when this handle last opened it.
    repaired: AtomicBool,
}

/// What a failed redb call means for the caller.
pub(super) fn classify(e: &StorageError) -> Option<DbError> {
    match e {
        StorageError::Io(io) if is_no_space(io) => Some(DbError::DiskFull),
        StorageError::PreviousIo | StorageError::DatabaseClosed => Some(DbError::Unavailable),
        _ => None,
    }
}

fn is_no_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl Handle {
    pub(super) fn open(path: PathBuf, options: DbOptions) -> Result<Handle, DbError> {
        let (db, repaired) = open_file(&path, &options)?;
        let reserve = path.with_file_name(RESERVE_FILE);
        if !reserve.exists() && free_bytes(&path) >= RESERVE_BYTES + HEADROOM_BYTES {
            // Best effort: a disk too full for it still opens; writes then fail as they must.
            let _ = write_reserve(&reserve);
        }
        Ok(Handle {
            path,
            options,
            current: RwLock::new(Some(Arc::new(db))),
            generation: AtomicU64::new(0),
            reopening: Mutex::new(()),
            closed: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
            repaired: AtomicBool::new(repaired),
        })
    }

    /// Whether redb repaired the file when it was last opened (it was not closed cleanly).
    pub(super) fn repaired(&self) -> bool {
        self.repaired.load(Ordering::SeqCst)
    }

    /// Bumped by every reopen: what was read from the file before may be stale.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether writes are refused for lack of disk space right now.
    pub(super) fn disk_full(&self) -> bool {
        self.disk_full.load(Ordering::SeqCst)
    }

    fn current(&self) -> (Option<Arc<redb::Database>>, u64) {
        let guard = self
            .current
            .read()
            .expect("the handle lock is never poisoned");
        (guard.clone(), self.generation.load(Ordering::SeqCst))
    }

    /// The open file, reopening it first when an earlier failure (or a reopen that could not
    /// finish) left none.
    pub(super) fn database(&self) -> Result<Arc<redb::Database>, DbError> {
        let (db, generation) = self.current();
        match db {
            Some(db) => Ok(db),
            None => {
                self.recover(generation)?;
                self.current().0.ok_or(DbError::Unavailable)
            }
        }
    }

    pub(super) fn begin_read(&self) -> Result<redb::ReadTransaction, DbError> {
        let (db, generation) = (self.database()?, self.generation.load(Ordering::SeqCst));
        match db.begin_read() {
            Err(TransactionError::Storage(StorageError::PreviousIo)) => {
                drop(db);
                self.recover(generation)?;
                Ok(self.database()?.begin_read()?)
            }
            other => Ok(other?),
        }
    }

    pub(super) fn begin_write(&self) -> Result<redb::WriteTransaction, DbError> {
        if self.disk_full() {
            self.try_resume()?;
        }
        let (db, generation) = (self.database()?, self.generation.load(Ordering::SeqCst));
        match db.begin_write() {
            Err(TransactionError::Storage(StorageError::PreviousIo)) => {
                drop(db);
                self.recover(generation)?;
                if self.disk_full() {
                    return Err(DbError::DiskFull);
                }
                Ok(self.database()?.begin_write()?)
            }
            other => Ok(other?),
        }
    }

    /// Called with any error a storage call returned: a full disk is remembered (and logged once)
    /// so later writes probe for space instead of failing inside redb, and a latched file is
    /// reopened now, so reads work again before the next write comes.
    pub(super) fn note(&self, e: &DbError) {
        match e {
            DbError::DiskFull => {
                self.mark_disk_full();
                let _ = self.recover(self.generation.load(Ordering::SeqCst));
            }
            DbError::Unavailable => {
                let _ = self.recover(self.generation.load(Ordering::SeqCst));
            }
            _ => {}
        }
    }

    /// Remembers a full disk (logged once per episode) and frees the reserve for the reopen.
    fn mark_disk_full(&self) {
        if !self.disk_full.swap(true, Ordering::SeqCst) {
            tracing::error!(
                data = %self.path.display(),
                free_bytes = free_bytes(&self.path),
                "disco cheio: the data directory's disk is full; webhooks are answered 503 with \
                 Retry-After (platforms retry) until space is freed"
            );
        }
        let _ = std::fs::remove_file(self.reserve_path());
    }

    fn reserve_path(&self) -> PathBuf {
        self.path.with_file_name(RESERVE_FILE)
    }

    /// After a disk-full failure: writes resume once the disk has room for the reserve and some
    /// headroom, and the reserve is back in place.
    fn try_resume(&self) -> Result<(), DbError> {
        if free_bytes(&self.path) < RESERVE_BYTES + HEADROOM_BYTES {
            return Err(DbError::DiskFull);
        }
        match write_reserve(&self.reserve_path()) {
            Ok(()) => {
                if self.disk_full.swap(false, Ordering::SeqCst) {
                    tracing::info!(data = %self.path.display(), "disk space is back; writes resume");
                }
                Ok(())
            }
            Err(e) if is_no_space(&e) => {
                let _ = std::fs::remove_file(self.reserve_path());
                Err(DbError::DiskFull)
            }
            Err(e) => Err(DbError::Io(e)),
        }
    }

    /// Closes the latched file and opens it again (redb repairs it), unless another caller did
    /// since `seen` or avisa is stopping. On a full disk the reserve makes room for it, so reads
    /// work again; writes wait for `try_resume`.
    fn recover(&self, seen: u64) -> Result<(), DbError> {
        let _one = self
            .reopening
            .lock()
            .expect("the reopen lock is never poisoned");
        if self.closed.load(Ordering::SeqCst) {
            return Err(DbError::Unavailable);
        }
        let (db, generation) = self.current();
        if generation != seen && db.is_some() {
            return Ok(());
        }
        drop(db);
        if !self.disk_full() && free_bytes(&self.path) < HEADROOM_BYTES {
            // A latched file and a nearly full disk: the write that failed ran out of space.
            self.mark_disk_full();
        }
        if let Some(db) = self.take() {
            close_file(db);
        }
        let (db, repaired) = match open_file(&self.path, &self.options) {
            Err(DbError::DiskFull) => {
                // Marking frees the reserve: the room the reopen's repair writes into.
                self.mark_disk_full();
                open_file(&self.path, &self.options)?
            }
            other => other?,
        };
        *self
            .current
            .write()
            .expect("the handle lock is never poisoned") = Some(Arc::new(db));
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.repaired.store(repaired, Ordering::SeqCst);
        tracing::warn!(data = %self.path.display(), repaired, "data file reopened after an I/O failure");
        Ok(())
    }

    /// Takes the file out of the handle and waits (bounded) until no caller is inside a
    /// `begin_*` with it.
    fn take(&self) -> Option<Arc<redb::Database>> {
        let db = self
            .current
            .write()
            .expect("the handle lock is never poisoned")
            .take()?;
        for _ in 0..10_000 {
            if Arc::strong_count(&db) == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Some(db)
    }

    /// Compacts the file (redb's `compact`, which needs the only reference to it): the file is
    /// taken out of the handle, so callers wait on the reopen lock meanwhile, and put back
    /// whatever happens. A transaction still in progress (a long console read) is waited for
    /// a little, then reported as `Unavailable`: the caller tries again later.
    pub(super) fn compact(&self) -> Result<bool, DbError> {
        let _one = self
            .reopening
            .lock()
            .expect("the reopen lock is never poisoned");
        if self.closed.load(Ordering::SeqCst) {
            return Err(DbError::Unavailable);
        }
        let Some(db) = self.take() else {
            return Err(DbError::Unavailable);
        };
        let mut db = match Arc::try_unwrap(db) {
            Ok(db) => db,
            Err(shared) => {
                self.put_back(shared);
                return Err(DbError::Unavailable);
            }
        };
        let mut result = Err(DbError::Unavailable);
        // The writer's slot first: taking it waits for the commit in progress.
        if let Ok(txn) = db.begin_write() {
            let _ = txn.abort();
        }
        for _ in 0..2_000 {
            result = match db.compact() {
                Ok(compacted) => Ok(compacted),
                Err(redb::CompactionError::TransactionInProgress) => {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                Err(redb::CompactionError::Storage(e)) => Err(DbError::from(e)),
                Err(other) => Err(DbError::Engine(other.to_string())),
            };
            break;
        }
        self.put_back(Arc::new(db));
        result
    }

    fn put_back(&self, db: Arc<redb::Database>) {
        *self
            .current
            .write()
            .expect("the handle lock is never poisoned") = Some(db);
        // Callers that found no file while it was out need not reopen it.
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Closes the file for good: waits for the write transaction in progress (the intake's
    /// commit), then lets redb mark the file clean. Later calls get `Unavailable`.
    pub(super) fn close(&self) -> Result<(), DbError> {
        let _one = self
            .reopening
            .lock()
            .expect("the reopen lock is never poisoned");
        self.closed.store(true, Ordering::SeqCst);
        match self.take() {
            Some(db) => {
                // The single writer's slot: taking it waits for the transaction in progress.
                if let Ok(txn) = db.begin_write() {
                    let _ = txn.abort();
                }
                match Arc::try_unwrap(db) {
                    Ok(db) => db.close().map_err(DbError::from),
                    Err(_) => Err(DbError::Engine(
                        "the data file is still in use; it closes when its last user ends".into(),
                    )),
                }
            }
            None => Ok(()),
        }
    }
}

/// Bytes an unprivileged process may still write on the disk holding `path`.
fn free_bytes(path: &Path) -> u64 {
    let dir = path.parent().unwrap_or(Path::new("."));
    rustix::fs::statvfs(dir)
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
        .unwrap_or(u64::MAX)
}

/// Writes the reserve with real bytes (a sparse file would reserve nothing).
fn write_reserve(path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    let chunk = vec![0u8; 1024 * 1024];
    for _ in 0..RESERVE_BYTES / chunk.len() as u64 {
        file.write_all(&chunk)?;
    }
    file.sync_data()
}

fn close_file(db: Arc<redb::Database>) {
    if let Ok(db) = Arc::try_unwrap(db) {
        // A latched file reports its earlier failure; closing it is all that is wanted.
        let _ = db.close();
    }
}

fn open_file(path: &Path, options: &DbOptions) -> Result<(redb::Database, bool), DbError> {
    let repaired = Arc::new(AtomicBool::new(false));
    let seen = repaired.clone();
    let started = std::time::Instant::now();
    let db = redb::Builder::new()
        .set_cache_size(options.cache_bytes)
        .set_repair_callback(move |_| seen.store(true, Ordering::SeqCst))
        .create(path)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => DbError::Locked(
                path.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| path.to_path_buf()),
            ),
            other => DbError::from(other),
        })?;
    let repaired = repaired.load(Ordering::SeqCst);
    if repaired {
        tracing::warn!(
            data = %path.display(),
            seconds = started.elapsed().as_secs_f64(),
            "the data file was not closed cleanly; redb checked and repaired it"
        );
    }
    migrate::run(&db)?;
    Ok((db, repaired))
}
