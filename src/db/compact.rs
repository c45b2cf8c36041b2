//! Giving the data file its space back: redb never shrinks a file by itself, so after retention
//! deletes old raw bodies the freed pages stay inside it. `compact` moves the live pages down and
//! truncates the file; the nightly housekeeping runs it when the merchant is quiet
//! (`domain::housekeeping::compaction_due`) and `avisa compact` runs it on a stopped avisa.

use redb::ReadableTable;

use super::{Db, DbError, from_json, tables};
use crate::db::EventRecord;

/// What one compaction did: the file's size on disk before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compacted {
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// What the store was doing around now: the facts `compaction_due` weighs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// When the newest event (webhook or API send) arrived.
    pub last_event_at: Option<i64>,
    /// Whether some message is (or was) due between the two instants asked about.
    pub message_due_in_window: bool,
}

impl Db {
    /// The data file's size on disk, in bytes.
    pub fn file_bytes(&self) -> Result<u64, DbError> {
        Ok(std::fs::metadata(self.path()).map_err(DbError::Io)?.len())
    }

    /// Compacts the data file. Every other storage call waits meanwhile (seconds for a file of a
    /// few GB), which is why the server only does it when the merchant is quiet.
    pub fn compact(&self) -> Result<Compacted, DbError> {
        let bytes_before = self.file_bytes()?;
        if let Err(e) = self.handle.compact() {
            self.handle.note(&e);
            return Err(e);
        }
        Ok(Compacted {
            bytes_before,
            bytes_after: self.file_bytes()?,
        })
    }

    /// The newest event's arrival and whether a message is due in `[from, to]`.
    pub fn activity(&self, from: i64, to: i64) -> Result<Activity, DbError> {
        let read = self.begin_read()?;
        let events = read.open_table(tables::EVENTS)?;
        let last_event_at = match events.last()? {
            Some((_, bytes)) => Some(from_json::<EventRecord>(bytes.value())?.received_at),
            None => None,
        };
        let due = read.open_table(tables::MESSAGES_BY_DUE)?;
        let message_due_in_window = due.range((from, 0)..=(to, u64::MAX))?.next().is_some();
        Ok(Activity {
            last_event_at,
            message_due_in_window,
        })
    }
}
