//! The handle's ways out: a close every clone shares, and the disk-full episode's log line.

use std::sync::{Arc, Mutex};

use super::{DATA_FILE, Db, DbError, DbOptions};

/// Collects what the log subscriber writes, to read it back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged(f: impl FnOnce()) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = captured.0.lock().expect("log buffer").clone();
    String::from_utf8(bytes).expect("utf-8 log")
}

fn write_something(db: &Db) {
    let settings = db.console_settings().expect("read");
    db.save_console_settings(&settings).expect("write");
}

#[test]
fn close_is_shared_by_every_clone_and_leaves_a_clean_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
    let other = db.clone();
    write_something(&db);
    db.close().expect("close");
    assert!(matches!(other.ping(), Err(DbError::Unavailable)));
    drop((db, other));
    let reopened = Db::open(tmp.path(), &DbOptions::default()).expect("reopen");
    assert!(!reopened.repaired_on_open(), "closed cleanly: no repair");
}

#[test]
fn a_file_left_open_by_a_dead_process_is_repaired_and_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
    // What a killed process leaves: the file never closed.
    std::mem::forget(db);
    let copy = tempfile::tempdir().expect("tempdir");
    std::fs::copy(tmp.path().join(DATA_FILE), copy.path().join(DATA_FILE)).expect("copy");
    let reopened = Db::open(copy.path(), &DbOptions::default()).expect("reopen");
    assert!(reopened.repaired_on_open());
}

#[test]
fn a_full_disk_is_logged_once_at_error_in_portuguese_words_and_shown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
    let log = logged(|| {
        db.note_failure(&DbError::DiskFull);
        db.note_failure(&DbError::DiskFull);
    });
    assert_eq!(log.matches("disco cheio").count(), 1, "{log}");
    assert!(log.contains("ERROR"), "{log}");
    assert!(db.disk_full(), "the console's banner reads this");
    assert!(matches!(db.ping(), Err(DbError::DiskFull)), "/readyz fails");
    // This disk has room: the next write finds it and resumes.
    write_something(&db);
    assert!(!db.disk_full());
    db.ping().expect("ready again");
}
