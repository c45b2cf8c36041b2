//! Instances (instâncias): one WhatsApp number each, with its sending rules (pacing, daily
//! limit, quiet hours, typing) and today's counters, kept beside the settings so a restart keeps
//! counting where it was.

use redb::ReadableTable;

use super::{Db, DbError, from_json, next_id, tables, to_json};
use crate::domain::{Instance, InstanceId};

impl Db {
    pub fn create_instance(&self, mut record: Instance) -> Result<Instance, DbError> {
        let txn = self.begin_write()?;
        record.id = InstanceId(next_id(&txn, "instances")?);
        txn.open_table(tables::INSTANCES)?
            .insert(record.id.0, to_json(&record)?.as_slice())?;
        txn.commit()?;
        Ok(record)
    }

    pub fn list_instances(&self) -> Result<Vec<Instance>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::INSTANCES)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            out.push(from_json(row?.1.value())?);
        }
        Ok(out)
    }

    pub fn instance(&self, id: InstanceId) -> Result<Instance, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::INSTANCES)?;
        let bytes = table.get(id.0)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    pub fn update_instance(
        &self,
        id: InstanceId,
        change: impl FnOnce(&mut Instance),
    ) -> Result<Instance, DbError> {
        let txn = self.begin_write()?;
        let record = {
            let mut table = txn.open_table(tables::INSTANCES)?;
            let mut record: Instance = match table.get(id.0)? {
                Some(bytes) => from_json(bytes.value())?,
                None => return Err(DbError::NotFound),
            };
            change(&mut record);
            record.id = id;
            table.insert(id.0, to_json(&record)?.as_slice())?;
            record
        };
        txn.commit()?;
        Ok(record)
    }

    /// Deletes an instance; its stores are unlinked (their messages wait for a new link) and its
    /// WhatsApp state (device keys, sessions) is wiped in the same transaction.
    pub fn delete_instance(&self, id: InstanceId) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            if txn.open_table(tables::INSTANCES)?.remove(id.0)?.is_none() {
                return Err(DbError::NotFound);
            }
            let mut stores = txn.open_table(tables::STORES)?;
            let linked: Vec<crate::domain::Store> = stores
                .iter()?
                .filter_map(|row| {
                    row.ok()
                        .and_then(|(_, v)| from_json::<crate::domain::Store>(v.value()).ok())
                })
                .filter(|s| s.instance_id == Some(id))
                .collect();
            for mut store in linked {
                store.instance_id = None;
                stores.insert(store.id.0, to_json(&store)?.as_slice())?;
            }
        }
        super::wa_state::wipe_in(&txn, id)?;
        txn.commit()?;
        self.forget_cached_stores();
        Ok(())
    }
}
