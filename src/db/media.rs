//! The files media parts carried: stored once per SHA-256 (`MEDIA_BLOBS`), and each part's
//! record (`MESSAGE_MEDIA`: which file, type, name). Written just before the part goes out, so a
//! retry reuses the file; removed by retention with the raw bodies and when a buyer is
//! forgotten, the file going with its last reference.

use std::collections::BTreeSet;

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::MessageId;
use crate::domain::media::SentMedia;

impl Db {
    /// Records that message `id` carries `media`, storing `bytes` under its hash unless a file
    /// with that hash is already kept (the same boleto for two reminders is stored once).
    pub fn save_message_media(
        &self,
        id: MessageId,
        media: &SentMedia,
        bytes: &[u8],
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut blobs = txn.open_table(tables::MEDIA_BLOBS)?;
            if blobs.get(media.sha256.as_str())?.is_none() {
                blobs.insert(media.sha256.as_str(), bytes)?;
            }
            txn.open_table(tables::MESSAGE_MEDIA)?
                .insert(id.0, to_json(media)?.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The file message `id` carried (or is about to carry), if it is a media part that got one.
    pub fn message_media(&self, id: MessageId) -> Result<Option<SentMedia>, DbError> {
        let read = self.begin_read()?;
        read.open_table(tables::MESSAGE_MEDIA)?
            .get(id.0)?
            .map(|b| from_json(b.value()))
            .transpose()
    }

    /// The stored bytes of the file with this hash.
    pub fn media_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, DbError> {
        let read = self.begin_read()?;
        Ok(read
            .open_table(tables::MEDIA_BLOBS)?
            .get(sha256)?
            .map(|b| b.value().to_vec()))
    }

    /// How many distinct files are stored (for tests and the benchmark).
    pub fn media_blob_count(&self) -> Result<u64, DbError> {
        let read = self.begin_read()?;
        Ok(read.open_table(tables::MEDIA_BLOBS)?.len()?)
    }

    /// Retention: forgets the media records stored before `cutoff` and every file no record
    /// names any more. Returns how many files were deleted.
    pub fn purge_media_before(&self, cutoff: i64) -> Result<u64, DbError> {
        let txn = self.begin_write()?;
        let removed = {
            let mut records = txn.open_table(tables::MESSAGE_MEDIA)?;
            let mut old = Vec::new();
            for row in records.iter()? {
                let (id, bytes) = row?;
                let media: SentMedia = from_json(bytes.value())?;
                if media.stored_at < cutoff {
                    old.push(id.value());
                }
            }
            for id in old {
                records.remove(id)?;
            }
            drop(records);
            remove_unreferenced(&txn)?
        };
        txn.commit()?;
        Ok(removed)
    }
}

/// Forgetting a buyer: their messages' media records go, with every file no other message
/// carries and the WhatsApp channel's upload results for those files (keyed by the hash).
pub(super) fn forget(
    txn: &WriteTransaction,
    ids: impl Iterator<Item = MessageId>,
) -> Result<(), DbError> {
    let mut records = txn.open_table(tables::MESSAGE_MEDIA)?;
    let mut hashes = BTreeSet::new();
    for id in ids {
        if let Some(bytes) = records.remove(id.0)? {
            let media: SentMedia = from_json(bytes.value())?;
            hashes.insert(media.sha256);
        }
    }
    drop(records);
    let kept = referenced(txn)?;
    let gone: BTreeSet<String> = hashes.difference(&kept).cloned().collect();
    let mut blobs = txn.open_table(tables::MEDIA_BLOBS)?;
    for sha256 in &gone {
        blobs.remove(sha256.as_str())?;
    }
    drop(blobs);
    forget_uploads(txn, &gone)
}

/// The hashes some media record still names.
fn referenced(txn: &WriteTransaction) -> Result<BTreeSet<String>, DbError> {
    let records = txn.open_table(tables::MESSAGE_MEDIA)?;
    let mut kept = BTreeSet::new();
    for row in records.iter()? {
        let media: SentMedia = from_json(row?.1.value())?;
        kept.insert(media.sha256);
    }
    Ok(kept)
}

/// Deletes every stored file no media record names (and its upload results); how many went.
fn remove_unreferenced(txn: &WriteTransaction) -> Result<u64, DbError> {
    let kept = referenced(txn)?;
    let mut blobs = txn.open_table(tables::MEDIA_BLOBS)?;
    let mut gone = Vec::new();
    for row in blobs.iter()? {
        let (sha256, _) = row?;
        let sha256 = sha256.value().to_owned();
        if !kept.contains(&sha256) {
            gone.push(sha256);
        }
    }
    for sha256 in &gone {
        blobs.remove(sha256.as_str())?;
    }
    drop(blobs);
    let gone: BTreeSet<String> = gone.into_iter().collect();
    forget_uploads(txn, &gone)?;
    Ok(gone.len() as u64)
}

/// Removes the channels' rows whose key carries one of these hashes (the WhatsApp channel keeps
/// each upload's result under the file's hash), in one pass over the table.
fn forget_uploads(txn: &WriteTransaction, hashes: &BTreeSet<String>) -> Result<(), DbError> {
    if hashes.is_empty() {
        return Ok(());
    }
    let mut table = txn.open_table(tables::WA_STATE)?;
    let names = |key: &[u8]| {
        key.windows(64)
            .any(|w| std::str::from_utf8(w).is_ok_and(|w| hashes.contains(w)))
    };
    for row in table.extract_if(|(_, _, key), _| names(key))? {
        row?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod media_store_tests;
