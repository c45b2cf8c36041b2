//! The merchant's custom event kinds (`domain::custom_kind`): one row per kind, keyed by its
//! name. Events and messages carry the kind's name itself, so a row is only needed to accept new
//! events of the kind (`record_deliveries` holds an event of a kind nobody created as unmapped),
//! to label it in the console and to know the variables its templates may use.

use redb::{ReadableTable, WriteTransaction};

use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::{CustomKind, CustomKindDef, EventKind};
use crate::ingest::{Reading, Reason, ReasonCode, Status};

impl Db {
    /// Every custom kind, by label.
    pub fn list_custom_kinds(&self) -> Result<Vec<CustomKindDef>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::CUSTOM_KINDS)?;
        let mut out: Vec<CustomKindDef> = Vec::new();
        for row in table.iter()? {
            out.push(from_json(row?.1.value())?);
        }
        out.sort_by_key(|d| d.label.to_lowercase());
        Ok(out)
    }

    /// One custom kind's definition; `None` when nobody created it.
    pub fn custom_kind(&self, kind: CustomKind) -> Result<Option<CustomKindDef>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::CUSTOM_KINDS)?;
        table
            .get(kind.name())?
            .map(|v| from_json(v.value()))
            .transpose()
    }

    /// Creates a custom kind; `Conflict` when one of that name exists.
    pub fn create_custom_kind(&self, def: &CustomKindDef) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(tables::CUSTOM_KINDS)?;
            if table.get(def.name.as_str())?.is_some() {
                return Err(DbError::Conflict(format!("custom.{}", def.name)));
            }
            table.insert(def.name.as_str(), to_json(def)?.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }
}

/// A reading of a custom kind nobody created, held as unmapped (the merchant sees it in Eventos
/// and creates the kind); any other reading as it is.
pub(super) fn known_or_unmapped(
    txn: &WriteTransaction,
    reading: &Reading,
) -> Result<Option<Reading>, DbError> {
    let Some(custom) = reading
        .event
        .as_ref()
        .and_then(|e| e.kind)
        .and_then(EventKind::custom)
    else {
        return Ok(None);
    };
    if reading.status == Status::Unmapped
        || txn
            .open_table(tables::CUSTOM_KINDS)?
            .get(custom.name())?
            .is_some()
    {
        return Ok(None);
    }
    let mut held = reading.clone();
    held.status = Status::Unmapped;
    held.reason = Some(Reason {
        code: ReasonCode::UnmappedEvent,
        detail: format!(
            "no custom event kind `{}` was created in avisa (Templates → Eventos personalizados)",
            custom.wire()
        ),
    });
    if let Some(event) = held.event.as_mut() {
        event.kind = None;
    }
    Ok(Some(held))
}
