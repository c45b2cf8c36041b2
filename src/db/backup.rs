//! Backups of the live data file and restores into an empty data directory.
//!
//! redb (4.5) has no online-copy call and holds an exclusive lock on the file, so the running
//! avisa makes the copy: one read transaction is a consistent snapshot of every table while
//! writers carry on; its rows are copied table by table into a fresh redb file, which is then
//! compressed with zstd (frame checksum on). A backup is therefore a plain `.redb.zst`: `zstd -d`
//! gives back a data file any avisa of the same or a newer schema opens.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use redb::MultimapTableHandle;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle};

use super::data_dir::create_private_dir;
use super::{DATA_FILE, Db, DbError, DbOptions, tables};

/// zstd level: 3 is zstd's default, fast and already several times smaller on JSON rows.
const LEVEL: i32 = 3;

/// What a backup contains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    /// Rows copied per table, by table name.
    pub tables: Vec<(String, u64)>,
    /// Size of the compressed file.
    pub bytes: u64,
}

impl BackupSummary {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(name, _)| name == table)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

/// Record counts of a data file, for the operator's confirmation after a restore.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub users: u64,
    pub stores: u64,
    pub events: u64,
}

/// Why a restore did not happen.
#[derive(Debug)]
pub enum RestoreError {
    /// The data directory has files in it; a restore never overwrites anything.
    NotEmpty(PathBuf),
    /// A running avisa holds the data file in that directory.
    Live(PathBuf),
    /// The backup file is damaged, truncated or not an avisa backup.
    BadBackup(String),
    Db(DbError),
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::NotEmpty(dir) => write!(
                f,
                "the data directory {} is not empty; restore into a new, empty directory \
                 (nothing was changed)",
                dir.display()
            ),
            RestoreError::Live(dir) => write!(
                f,
                "a running avisa is using the data directory {}; stop it and restore into a new, \
                 empty directory (nothing was changed)",
                dir.display()
            ),
            RestoreError::BadBackup(why) => write!(f, "not a usable avisa backup: {why}"),
            RestoreError::Db(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RestoreError {}

impl From<DbError> for RestoreError {
    fn from(e: DbError) -> Self {
        RestoreError::Db(e)
    }
}

impl Db {
    /// Writes a consistent, compressed copy of the whole database to `out` while writers carry
    /// on. Every transaction committed before the call is in the copy. The uncompressed copy is
    /// staged beside `out` and the file appears under its name only when complete.
    pub fn backup_to(&self, out: &Path) -> Result<BackupSummary, DbError> {
        let staging = sibling(out, ".redb-partial");
        let partial = sibling(out, ".partial");
        let result = self.backup_via(&staging, &partial, out);
        let _ = std::fs::remove_file(&staging);
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    }

    fn backup_via(
        &self,
        staging: &Path,
        partial: &Path,
        out: &Path,
    ) -> Result<BackupSummary, DbError> {
        let _ = std::fs::remove_file(staging);
        let tables = {
            let copy = redb::Builder::new()
                .set_cache_size(4 * 1024 * 1024)
                .create(staging)?;
            let read = self.begin_read()?;
            let write = copy.begin_write()?;
            let tables = copy_tables(&read, &write)?;
            write.commit()?;
            tables
        };
        let mut input = BufReader::new(File::open(staging).map_err(DbError::Io)?);
        let file = private_create(partial).map_err(DbError::Io)?;
        let mut encoder = zstd::Encoder::new(BufWriter::new(file), LEVEL).map_err(DbError::Io)?;
        encoder.include_checksum(true).map_err(DbError::Io)?;
        std::io::copy(&mut input, &mut encoder).map_err(DbError::Io)?;
        let mut writer = encoder.finish().map_err(DbError::Io)?;
        writer.flush().map_err(DbError::Io)?;
        let file = writer
            .into_inner()
            .map_err(|e| DbError::Io(e.into_error()))?;
        file.sync_all().map_err(DbError::Io)?;
        let bytes = file.metadata().map_err(DbError::Io)?.len();
        std::fs::rename(partial, out).map_err(DbError::Io)?;
        Ok(BackupSummary { tables, bytes })
    }

    /// How many users, stores and events the file holds.
    pub fn counts(&self) -> Result<Counts, DbError> {
        let read = self.begin_read()?;
        Ok(Counts {
            users: read.open_table(tables::USERS)?.len()?,
            stores: read.open_table(tables::STORES)?.len()?,
            events: read.open_table(tables::EVENTS)?.len()?,
        })
    }
}

/// Restores `backup` into `dir`, which must be empty or absent; the data file is brought to this
/// avisa's schema (a backup from a newer avisa is refused and nothing is left behind).
pub fn restore(backup: &Path, dir: &Path) -> Result<Counts, RestoreError> {
    if dir.exists() {
        let target = dir.join(DATA_FILE);
        if target.exists()
            && let Err(redb::DatabaseError::DatabaseAlreadyOpen) = redb::Database::open(&target)
        {
            return Err(RestoreError::Live(dir.to_path_buf()));
        }
        let mut entries = std::fs::read_dir(dir).map_err(DbError::Io)?;
        if entries.next().is_some() {
            return Err(RestoreError::NotEmpty(dir.to_path_buf()));
        }
    }
    let input = File::open(backup)
        .map_err(|e| RestoreError::BadBackup(format!("{}: {e}", backup.display())))?;
    create_private_dir(dir)?;
    let partial = dir.join(format!("{DATA_FILE}.restoring"));
    let result = unpack(input, &partial).and_then(|()| {
        std::fs::rename(&partial, dir.join(DATA_FILE)).map_err(DbError::Io)?;
        let db = Db::open(dir, &DbOptions::default())?;
        db.counts()
    });
    match result {
        Ok(counts) => Ok(counts),
        Err(e) => {
            // Leave the directory as empty as it was: a failed restore must not look like data.
            let _ = std::fs::remove_file(&partial);
            let _ = std::fs::remove_file(dir.join(DATA_FILE));
            Err(match e {
                DbError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                    RestoreError::BadBackup(io.to_string())
                }
                DbError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    RestoreError::BadBackup(format!("the file is truncated ({io})"))
                }
                DbError::Engine(why) => RestoreError::BadBackup(why),
                other => RestoreError::Db(other),
            })
        }
    }
}

/// Checks a backup's zstd frame and checksum without writing anything.
pub fn verify_backup(backup: &Path) -> Result<u64, std::io::Error> {
    let mut decoder = zstd::Decoder::new(File::open(backup)?)?;
    std::io::copy(&mut decoder, &mut std::io::sink())
}

fn unpack(input: File, partial: &Path) -> Result<(), DbError> {
    let mut decoder = zstd::Decoder::new(input).map_err(DbError::Io)?;
    let mut output = BufWriter::new(private_create(partial).map_err(DbError::Io)?);
    std::io::copy(&mut decoder, &mut output).map_err(DbError::Io)?;
    let file = output
        .into_inner()
        .map_err(|e| DbError::Io(e.into_error()))?;
    file.sync_all().map_err(DbError::Io)
}

fn private_create(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Copies every table of the snapshot. A table added to `tables.rs` must be added here too; the
/// test `every_table_is_in_the_backup` fails until it is.
fn copy_tables(
    read: &redb::ReadTransaction,
    write: &redb::WriteTransaction,
) -> Result<Vec<(String, u64)>, DbError> {
    let mut copied = Vec::new();
    macro_rules! copy {
        ($($table:ident),* $(,)?) => {$(
            copied.push((tables::$table.name().to_owned(), copy_table(read, write, tables::$table)?));
        )*};
    }
    copy!(
        META,
        SEQUENCES,
        USERS,
        USERS_BY_EMAIL,
        SESSIONS,
        API_TOKENS,
        SETTINGS,
        STORES,
        STORE_TOKENS,
        EVENTS,
        RAW_BODIES,
        DEDUP,
        DEDUP_LOG,
        COUNTERS,
        ERASED_BUYERS,
        INSTANCES,
        LEASES,
        OUTBOX_DEPTH,
        MESSAGES,
        OUTBOX,
        MESSAGES_BY_DUE,
        TEMPLATES,
        CLOSED_ORDERS,
        CLOSED_PURCHASES,
        OPT_OUTS,
        WA_STATE,
        CONVERSATIONS,
        INCOMING_SEEN,
        AUTO_REPLIES,
        REPORT_DAYS,
        EVENT_DAYS,
        BUYER_DAYS,
        RECOVERED_ORDERS,
        WIRE_IDS,
        ON_WHATSAPP,
        HEALTH_DAYS,
        STORE_MAPPINGS,
        MEDIA_BLOBS,
        MESSAGE_MEDIA,
        ORDER_BUYERS,
        CUSTOM_KINDS,
        OUTBOUND_ENDPOINTS,
        OUTBOUND_DELIVERIES,
        OUTBOUND_DUE,
        OUTBOUND_LOG,
        OUTBOUND_META,
        STORE_API_CREDENTIALS,
        ENRICH_JOBS,
        ENRICH_DUE,
    );
    macro_rules! copy_multimap {
        ($($table:ident),* $(,)?) => {$(
            copied.push((tables::$table.name().to_owned(), copy_multimap_table(read, write, tables::$table)?));
        )*};
    }
    copy_multimap!(MESSAGES_BY_ORDER, MESSAGES_BY_PHONE);
    Ok(copied)
}

fn copy_multimap_table<K: redb::Key + 'static, V: redb::Key + 'static>(
    read: &redb::ReadTransaction,
    write: &redb::WriteTransaction,
    definition: redb::MultimapTableDefinition<K, V>,
) -> Result<u64, DbError> {
    use redb::ReadableMultimapTable;
    let source = match read.open_multimap_table(definition) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut target = write.open_multimap_table(definition)?;
    let mut rows = 0;
    for entry in source.iter()? {
        let (key, values) = entry?;
        for value in values {
            target.insert(key.value(), value?.value())?;
            rows += 1;
        }
    }
    Ok(rows)
}

fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    read: &redb::ReadTransaction,
    write: &redb::WriteTransaction,
    definition: TableDefinition<K, V>,
) -> Result<u64, DbError> {
    let source = match read.open_table(definition) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut target = write.open_table(definition)?;
    let mut rows = 0;
    for row in source.iter()? {
        let (key, value) = row?;
        target.insert(key.value(), value.value())?;
        rows += 1;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::NewUser;

    fn user(email: &str) -> NewUser {
        NewUser {
            email: email.into(),
            name: "Ana".into(),
            role: crate::db::Role::Admin,
            password_hash: "x".into(),
            lang: "pt-BR".into(),
            must_change_password: false,
            created_at: 1,
        }
    }

    #[test]
    fn every_table_is_in_the_backup() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
        let read = redb::ReadableDatabase::begin_read(&*db.redb()).expect("read");
        let mut existing: Vec<String> = read
            .list_tables()
            .expect("tables")
            .map(|t| t.name().to_owned())
            .chain(
                read.list_multimap_tables()
                    .expect("multimap tables")
                    .map(|t| t.name().to_owned()),
            )
            .collect();
        let summary = db.backup_to(&tmp.path().join("b.zst")).expect("backup");
        let mut copied: Vec<String> = summary.tables.iter().map(|(n, _)| n.clone()).collect();
        existing.sort();
        copied.sort();
        assert_eq!(existing, copied, "copy_tables names every table");
    }

    #[test]
    fn a_backup_restores_into_an_empty_directory_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
        db.create_user(user("ana@loja.com.br")).expect("user");
        let file = tmp.path().join("avisa.redb.zst");
        let summary = db.backup_to(&file).expect("backup");
        assert_eq!(summary.rows("users_v1"), 1);
        assert!(!sibling(&file, ".partial").exists());
        assert!(!sibling(&file, ".redb-partial").exists());

        let fresh = tmp.path().join("fresh");
        let counts = restore(&file, &fresh).expect("restore");
        assert_eq!(counts.users, 1);
        match restore(&file, &fresh) {
            Err(RestoreError::NotEmpty(_)) => {}
            other => panic!("expected NotEmpty, got {other:?}"),
        }
        match restore(&file, &tmp.path().join("data")) {
            Err(RestoreError::Live(_)) => {}
            other => panic!("expected Live, got {other:?}"),
        }
    }

    #[test]
    fn a_truncated_backup_is_refused_and_leaves_the_directory_empty() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
        db.create_user(user("ana@loja.com.br")).expect("user");
        let file = tmp.path().join("b.zst");
        db.backup_to(&file).expect("backup");
        let bytes = std::fs::read(&file).expect("read");
        std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncate");
        assert!(verify_backup(&file).is_err());
        let fresh = tmp.path().join("fresh");
        match restore(&file, &fresh) {
            Err(RestoreError::BadBackup(_)) => {}
            other => panic!("expected BadBackup, got {other:?}"),
        }
        assert_eq!(std::fs::read_dir(&fresh).expect("dir").count(), 0);
    }
}
