//! The stores' own mappings (`ingest::mapping`): one row per store, cached for the webhook's hot
//! path, removed with the store; and re-processing, which re-reads a store's events held as
//! unmapped with the current mapping and plans the ones now recognised, late steps canceled.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;

use super::events::{EventRecord, RawDelivery, decode_raw};
use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::report::day_number;
use crate::domain::{Store, StoreId};
use crate::ingest::mapping::Mapping;
use crate::ingest::{self, Request, Status};

/// Store id -> its mapping, `None` when it has none (also cached: most stores have none).
pub(super) type MappingCache = Arc<RwLock<HashMap<u64, Option<Arc<Mapping>>>>>;

/// What re-processing did, for the console and the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reprocessed {
    /// Held events now recognised (planned, late steps canceled).
    pub recognised: u64,
    /// Held events the mapping says to ignore.
    pub ignored: u64,
    /// Held events now read but unusable (no buyer phone, a damaged one).
    pub invalid: u64,
    /// Still unmapped: their names are not in the mapping yet.
    pub still_unmapped: u64,
}

/// A store's events held as unmapped: the event names seen and the newest raw body.
#[derive(Clone, Debug, Default)]
pub struct HeldEvents {
    pub names: BTreeSet<String>,
    pub count: u64,
    /// The newest held event and its delivery.
    pub latest: Option<(EventRecord, RawDelivery)>,
}

impl Db {
    /// The cached mapping of a store (`Some(None)`: known to have none), without touching the
    /// database: the webhook's hot path stays off the blocking pool.
    pub fn cached_mapping(&self, store_id: StoreId) -> Option<Option<Arc<Mapping>>> {
        self.mapping_cache
            .read()
            .expect("mapping cache lock is never poisoned")
            .get(&store_id.0)
            .cloned()
    }

    /// The store's mapping, from memory after the first read.
    pub fn store_mapping(&self, store_id: StoreId) -> Result<Option<Arc<Mapping>>, DbError> {
        if let Some(hit) = self.cached_mapping(store_id) {
            return Ok(hit);
        }
        let read = self.begin_read()?;
        let found = read
            .open_table(tables::STORE_MAPPINGS)?
            .get(store_id.0)?
            .map(|b| from_json::<Mapping>(b.value()))
            .transpose()?
            .map(Arc::new);
        self.mapping_cache
            .write()
            .expect("mapping cache lock is never poisoned")
            .insert(store_id.0, found.clone());
        Ok(found)
    }

    /// Saves (or with `None` removes) a store's mapping. The caller validated it.
    pub fn set_store_mapping(
        &self,
        store_id: StoreId,
        mapping: Option<&Mapping>,
    ) -> Result<(), DbError> {
        self.set_store_record(tables::STORE_MAPPINGS, store_id, mapping)?;
        self.forget_mappings();
        Ok(())
    }

    pub(super) fn forget_mappings(&self) {
        self.mapping_cache
            .write()
            .expect("mapping cache lock is never poisoned")
            .clear();
    }

    /// The store's events held as unmapped (newest first, up to `limit` read for names).
    pub fn held_events(&self, store_id: StoreId, limit: usize) -> Result<HeldEvents, DbError> {
        let read = self.begin_read()?;
        let events = read.open_table(tables::EVENTS)?;
        let raws = read.open_table(tables::RAW_BODIES)?;
        let mut held = HeldEvents::default();
        for row in events.iter()?.rev() {
            let record: EventRecord = from_json(row?.1.value())?;
            if record.store_id != store_id
                || record.status != Status::Unmapped
                || record.erased_at.is_some()
            {
                continue;
            }
            held.count += 1;
            if held.count as usize > limit {
                continue;
            }
            if let Some(event) = &record.event {
                held.names.insert(event.platform_event.clone());
            }
            if held.latest.is_none() {
                let raw = match raws.get(record.raw_id)? {
                    Some(bytes) => decode_raw(bytes.value())?,
                    None => RawDelivery::default(),
                };
                held.latest = Some((record, raw));
            }
        }
        Ok(held)
    }

    /// Re-reads the store's events held as unmapped with its current mapping, in one write
    /// transaction: the ones now recognised are planned as if they had just arrived, steps whose
    /// moment passed by more than their delay canceled "chegou tarde" (`now` is the clock's).
    pub fn reprocess_unmapped(&self, store_id: StoreId, now: i64) -> Result<Reprocessed, DbError> {
        let txn = self.begin_write()?;
        let store: Store = match txn.open_table(tables::STORES)?.get(store_id.0)? {
            Some(bytes) => from_json(bytes.value())?,
            None => return Err(DbError::NotFound),
        };
        let mapping: Option<Mapping> = txn
            .open_table(tables::STORE_MAPPINGS)?
            .get(store_id.0)?
            .map(|b| from_json(b.value()))
            .transpose()?;
        let mut keys = self.dedup_keys(&txn)?;
        let (done, to_plan) = reread(&txn, &mut keys, &store, mapping.as_ref())?;
        if !to_plan.is_empty() {
            let (settings, company_name) = {
                let table = txn.open_table(tables::SETTINGS)?;
                let console = super::settings::read_console_settings(&table)?;
                (
                    super::settings::read_message_settings(&table)?,
                    console.company_name,
                )
            };
            let mut planner = super::planning::Planner::open(&txn)?;
            for record in &to_plan {
                let Some(event) = record.event.as_ref() else {
                    continue;
                };
                planner.plan_late(
                    &store,
                    record.id,
                    event,
                    &settings,
                    &company_name,
                    now,
                    record.received_at,
                )?;
            }
            planner.finish()?;
        }
        keys.commit(txn)?;
        Ok(done)
    }
}

/// Re-reads every held event of `store`; writes the new readings, moves their day counts and
/// dedup keys, and returns the events to plan.
fn reread(
    txn: &WriteTransaction,
    keys: &mut super::dedup::Keys<'_>,
    store: &Store,
    mapping: Option<&Mapping>,
) -> Result<(Reprocessed, Vec<EventRecord>), DbError> {
    let mut events = txn.open_table(tables::EVENTS)?;
    let raws = txn.open_table(tables::RAW_BODIES)?;
    let mut dedup = keys.index(txn)?;
    let mut event_days = txn.open_table(tables::EVENT_DAYS)?;
    let mut held: Vec<EventRecord> = Vec::new();
    for row in events.iter()? {
        let record: EventRecord = from_json(row?.1.value())?;
        if record.store_id == store.id
            && record.status == Status::Unmapped
            && record.erased_at.is_none()
        {
            held.push(record);
        }
    }
    let mut done = Reprocessed::default();
    let mut to_plan = Vec::new();
    // One delivery's readings are read once, for all the events it carried.
    let mut readings: HashMap<u64, Vec<ingest::Reading>> = HashMap::new();
    for mut record in held {
        let Some(raw) = raws.get(record.raw_id)?.map(|b| decode_raw(b.value())) else {
            done.still_unmapped += 1;
            continue;
        };
        let raw = raw?;
        let of_delivery = readings.entry(record.raw_id).or_insert_with(|| {
            ingest::recognise_with(
                store.platform,
                mapping,
                &Request::new(&raw.body, &raw.headers, &raw.query),
            )
        });
        let old_name = record.event.as_ref().map(|e| e.platform_event.clone());
        // Events of one delivery were stored in order, from the raw body's id on.
        let index = (record.id.0 - record.raw_id) as usize;
        let reading = of_delivery
            .get(index)
            .filter(|r| {
                of_delivery.len() == 1
                    || r.event.as_ref().map(|e| &e.platform_event) == old_name.as_ref()
            })
            .or_else(|| {
                of_delivery
                    .iter()
                    .find(|r| r.event.as_ref().map(|e| &e.platform_event) == old_name.as_ref())
            })
            .cloned();
        let Some(reading) = reading.filter(|r| r.status != Status::Unmapped) else {
            done.still_unmapped += 1;
            continue;
        };
        move_day_count(&mut event_days, &record, |r| {
            r.status = reading.status;
            r.reason = reading.reason.clone();
            r.event = reading.event.clone();
        })?;
        record.status = reading.status;
        record.reason = reading.reason;
        record.event = reading.event;
        // The same event already arrived recognised (a retry after the mapping): not twice.
        let key = record.event.as_ref().map(|e| e.dedup_key.clone());
        let duplicate = match key.as_deref().filter(|k| !k.is_empty()) {
            Some(key) => {
                let existing = dedup.get(store.id.0, key)?;
                match existing {
                    Some(other) => other != record.id.0,
                    None => {
                        dedup.insert(store.id.0, key, record.id.0)?;
                        false
                    }
                }
            }
            None => false,
        };
        events.insert(record.id.0, to_json(&record)?.as_slice())?;
        match record.status {
            Status::Ok => {
                done.recognised += 1;
                if !duplicate {
                    to_plan.push(record);
                }
            }
            Status::Ignored => done.ignored += 1,
            Status::Invalid | Status::Unmapped | Status::Awaiting => done.invalid += 1,
        }
    }
    dedup.finish()?;
    let resolved = done.recognised + done.ignored + done.invalid;
    if resolved > 0 {
        let mut counters = txn.open_table(tables::COUNTERS)?;
        let current = counters
            .get(super::events::UNMAPPED_UNACKED)?
            .map(|v| v.value())
            .unwrap_or(0);
        counters.insert(
            super::events::UNMAPPED_UNACKED,
            current.saturating_sub(resolved),
        )?;
    }
    Ok((done, to_plan))
}

/// Moves one event's count in `EVENT_DAYS` from its old bucket to the one `change` gives it.
pub(super) fn move_day_count(
    table: &mut redb::Table<'_, (i32, u64, &'static str), u64>,
    record: &EventRecord,
    change: impl FnOnce(&mut EventRecord),
) -> Result<(), DbError> {
    let day = day_number(record.received_at);
    let old = super::report_ledger::event_bucket(record);
    let key = (day, record.store_id.0, old.as_str());
    let n = table.get(key)?.map_or(0, |v| v.value());
    if n > 1 {
        table.insert(key, n - 1)?;
    } else {
        table.remove(key)?;
    }
    let mut after = record.clone();
    change(&mut after);
    super::report_ledger::count_event(table, &after)?;
    Ok(())
}

/// Used by `delete_store`: the store's mapping goes with it.
pub(super) fn remove_mapping(txn: &WriteTransaction, store_id: StoreId) -> Result<(), DbError> {
    txn.open_table(tables::STORE_MAPPINGS)?.remove(store_id.0)?;
    Ok(())
}
