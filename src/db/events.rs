//! Events: every delivery a store's webhook URL received, as avisa read it, with its raw body.
//! `record_deliveries` writes a whole batch of deliveries in one transaction (group commit):
//! dedup check, raw body, events, store counters. It is the durable step before the 2xx.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::{Event, EventId, EventKind, StoreId};
use crate::ingest::{Reading, Reason, Status, order_memory};

/// One stored event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: EventId,
    pub store_id: StoreId,
    pub platform: String,
    /// Unix seconds when avisa received the delivery.
    pub received_at: i64,
    pub status: Status,
    pub reason: Option<Reason>,
    pub event: Option<Event>,
    /// The key of the delivery's raw body in `RAW_BODIES`.
    pub raw_id: u64,
    /// How many later deliveries carried the same dedup key (and were ignored).
    pub duplicates: u64,
    /// When the buyer's data in it was erased (LGPD): the reading keeps only platform and kind,
    /// the raw body is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<i64>,
    /// The earlier event of the same order whose buyer this one took because its own body named
    /// none (order memory, `db::order_memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_from: Option<EventId>,
}

impl EventRecord {
    /// The reading this record keeps (a copy), to read it again as the intake would.
    pub fn reading(&self) -> crate::ingest::Reading {
        crate::ingest::Reading {
            status: self.status,
            reason: self.reason.clone(),
            event: self.event.clone(),
        }
    }

    pub fn kind(&self) -> Option<EventKind> {
        self.event.as_ref().and_then(|e| e.kind)
    }

    /// Why an invalid event cannot be used, in the console's three kinds.
    pub fn invalid_kind(&self) -> Option<crate::ingest::InvalidKind> {
        (self.status == Status::Invalid)
            .then(|| self.reason.as_ref()?.code.invalid_kind())
            .flatten()
    }
}

/// A delivery exactly as received: the headers worth keeping and the body bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RawDelivery {
    pub content_type: Option<String>,
    pub query: String,
    pub headers: Vec<(String, String)>,
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// One delivery to record: the store, when, the raw request and avisa's reading of it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub store_id: StoreId,
    pub received_at: i64,
    pub raw: RawDelivery,
    pub readings: Vec<Reading>,
}

/// What happened to each reading of a delivery, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "event_id")]
pub enum Recorded {
    /// Stored as a new event with this id.
    New(EventId),
    /// Same dedup key as this earlier event: counted there, nothing new stored.
    Duplicate(EventId),
}

/// Filters for the Eventos page and the API.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub store_id: Option<StoreId>,
    pub kind: Option<EventKind>,
    pub status: Option<Status>,
    /// Only invalid events of this kind (could not read, no phone, bad signature).
    pub invalid: Option<crate::ingest::InvalidKind>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only events with an id below this (for paging back in time).
    pub before_id: Option<EventId>,
    pub limit: usize,
}

pub(super) const UNMAPPED_UNACKED: &str = "unmapped_unacknowledged";

/// A raw record starts with this byte when the rest is LZ4-compressed (block format, length
/// first). Records from before compression start with the JSON header's `{` and are read as
/// they are, so no migration is needed.
const COMPRESSED: u8 = 0x01;

/// Records at most this long are kept plain: LZ4 gains nothing on a few hundred bytes.
const COMPRESS_ABOVE: usize = 512;

/// The stored form of a delivery: its JSON header (content type, query, headers), a zero byte,
/// then the body; LZ4-compressed behind `COMPRESSED` when that is shorter. Webhook JSON shrinks
/// 2–3×, so a 5.6 KB Hotmart body no longer fills an 8 KiB page of its own: fewer pages written
/// per group commit and fewer bytes per stored event (docs/BENCHMARKS.md).
fn encode_raw(raw: &RawDelivery) -> Result<Vec<u8>, DbError> {
    // Allocated once each (the header is a few hundred bytes): this runs for every webhook.
    let mut bytes = Vec::with_capacity(raw.body.len() + 512);
    serde_json::to_writer(&mut bytes, raw)?;
    bytes.push(0);
    bytes.extend_from_slice(&raw.body);
    if bytes.len() > COMPRESS_ABOVE
        && let Ok(len) = u32::try_from(bytes.len())
    {
        // `COMPRESSED`, the plain length (u32 LE, as `lz4_flex::decompress_size_prepended`
        // reads it), then the block.
        let mut out = vec![0u8; 5 + lz4_flex::block::get_maximum_output_size(bytes.len())];
        out[0] = COMPRESSED;
        out[1..5].copy_from_slice(&len.to_le_bytes());
        let packed = lz4_flex::block::compress_into(&bytes, &mut out[5..])
            .map_err(|e| DbError::Engine(format!("raw body record does not compress: {e}")))?;
        if 5 + packed < bytes.len() {
            out.truncate(5 + packed);
            out.shrink_to_fit();
            return Ok(out);
        }
    }
    Ok(bytes)
}

/// A stored raw record in its plain form (header, zero byte, body), decompressed when needed.
pub(super) fn plain_raw(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, DbError> {
    match bytes.split_first() {
        Some((&COMPRESSED, packed)) => lz4_flex::decompress_size_prepended(packed)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| DbError::Engine(format!("raw body record does not decompress: {e}"))),
        _ => Ok(std::borrow::Cow::Borrowed(bytes)),
    }
}

/// A delivery's raw record in its stored form, made before the intake writer takes it: the
/// HTTP workers encode and compress in parallel, the one writer only copies bytes.
#[derive(Clone, Debug)]
pub struct EncodedRaw(Vec<u8>);

impl EncodedRaw {
    pub fn of(raw: &RawDelivery) -> Result<EncodedRaw, DbError> {
        encode_raw(raw).map(EncodedRaw)
    }

    /// Bytes held in memory until the commit.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub(super) fn decode_raw(bytes: &[u8]) -> Result<RawDelivery, DbError> {
    let bytes = plain_raw(bytes)?;
    let split = bytes
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| DbError::Engine("raw body record has no header".into()))?;
    let mut raw: RawDelivery = from_json(&bytes[..split])?;
    raw.body = bytes[split + 1..].to_vec();
    Ok(raw)
}

impl Db {
    /// Records a batch of deliveries in one durable transaction; returns, per delivery, what
    /// happened to each of its readings.
    pub fn record_deliveries(&self, batch: &[Delivery]) -> Result<Vec<Vec<Recorded>>, DbError> {
        let raws = batch
            .iter()
            .map(|d| EncodedRaw::of(&d.raw))
            .collect::<Result<Vec<_>, _>>()?;
        self.record_encoded_deliveries(batch, &raws)
    }

    /// `record_deliveries` with each delivery's raw record already encoded (`raws[i]` is
    /// `batch[i]`'s), as the intake writer gets them.
    pub fn record_encoded_deliveries(
        &self,
        batch: &[Delivery],
        raws: &[EncodedRaw],
    ) -> Result<Vec<Vec<Recorded>>, DbError> {
        if raws.len() != batch.len() {
            return Err(DbError::Engine(
                "one encoded raw record per delivery".into(),
            ));
        }
        let txn = self.begin_write()?;
        let mut keys = self.dedup_keys(&txn)?;
        let mut results = Vec::with_capacity(batch.len());
        // Events to plan once their rows are written: (store, event id, reading index).
        let mut to_plan: Vec<(StoreId, EventId, usize, usize)> = Vec::new();
        // Readings that took their buyer from order memory, by (delivery, reading) index.
        let mut filled: HashMap<(usize, usize), Event> = HashMap::new();
        // The new events as written, reported to outbound webhooks below (kept only when an
        // endpoint listens: most installs have none).
        let mut new_records: Vec<EventRecord> = Vec::new();
        let mut emitter = super::outbound::Emitter::new(&txn);
        let report_new =
            emitter.listening(crate::domain::outbound::OutboundEvent::EventReceived)?;
        {
            let mut events = txn.open_table(tables::EVENTS)?;
            let mut raw_table = txn.open_table(tables::RAW_BODIES)?;
            let mut dedup = keys.index(&txn)?;
            let mut stores = txn.open_table(tables::STORES)?;
            let mut counters = txn.open_table(tables::COUNTERS)?;
            let mut sequences = txn.open_table(tables::SEQUENCES)?;
            let mut event_days = txn.open_table(tables::EVENT_DAYS)?;
            let mut memory = txn.open_table(tables::ORDER_BUYERS)?;
            let mut hold = super::enrichment::Hold::open(&txn)?;
            // Each store once per batch: its platform says whether a thin event is held.
            let mut batch_stores: HashMap<StoreId, Option<crate::domain::Store>> = HashMap::new();
            // Ids are taken from one read of the sequence and written back once per batch.
            let mut last_id = sequences.get("events")?.map(|v| v.value()).unwrap_or(0);
            let mut new_unmapped = 0u64;
            // Store counters change once per batch, not once per event.
            // (first, last, count) per store: a store's first event is the batch's earliest.
            let mut touched: HashMap<StoreId, (i64, i64, u64)> = HashMap::new();
            // Duplicates found in this batch are counted on their originals at the end.
            let mut duplicate_hits: HashMap<u64, u64> = HashMap::new();
            // Day counts are summed over the batch: one read-modify-write per row.
            let mut day_counts = super::report_ledger::EventDays::default();
            for (delivery, encoded) in batch.iter().zip(raws) {
                let mut recorded = Vec::with_capacity(delivery.readings.len());
                let mut raw_id = None;
                let delivery_index = results.len();
                for (reading_index, reading) in delivery.readings.iter().enumerate() {
                    let held = super::custom_kinds::known_or_unmapped(&txn, reading)?;
                    let reading = held.as_ref().unwrap_or(reading);
                    let key = reading
                        .event
                        .as_ref()
                        .map(|e| e.dedup_key.as_str())
                        .filter(|k| !k.is_empty());
                    if let Some(key) = key
                        && let Some(original) = dedup.get(delivery.store_id.0, key)?
                    {
                        *duplicate_hits.entry(original).or_default() += 1;
                        recorded.push(Recorded::Duplicate(EventId(original)));
                        continue;
                    }
                    last_id += 1;
                    let id = last_id;
                    let raw_id = *raw_id.get_or_insert(id);
                    if raw_id == id {
                        raw_table.insert(id, encoded.0.as_slice())?;
                    }
                    if let Some(key) = key {
                        dedup.insert(delivery.store_id.0, key, id)?;
                    }
                    let mut taken = None;
                    let buyer_from = if order_memory::wants_buyer(reading).is_some() {
                        let mut with_buyer = reading.clone();
                        let from = super::order_memory::recall(
                            &memory,
                            delivery.store_id,
                            &mut with_buyer,
                        )?;
                        taken = from.map(|_| with_buyer);
                        from
                    } else {
                        None
                    };
                    let reading = taken.as_ref().unwrap_or(reading);
                    // A thin notification of a store with API credentials waits for its
                    // resource ("aguardando dados da plataforma"); its fetch is queued below.
                    let store = match batch_stores.entry(delivery.store_id) {
                        Entry::Occupied(known) => known.into_mut(),
                        Entry::Vacant(first) => first.insert(
                            stores
                                .get(delivery.store_id.0)?
                                .map(|b| from_json(b.value()))
                                .transpose()?,
                        ),
                    };
                    let held = hold.hold(store.as_ref(), &delivery.raw, reading)?;
                    let reading = held.as_ref().map_or(reading, |(r, _)| r);
                    if buyer_from.is_none() {
                        super::order_memory::remember(
                            &mut memory,
                            delivery.store_id,
                            EventId(id),
                            delivery.received_at,
                            reading,
                        )?;
                    }
                    if reading.status == Status::Unmapped {
                        new_unmapped += 1;
                    }
                    let record = EventRecord {
                        id: EventId(id),
                        store_id: delivery.store_id,
                        platform: reading
                            .event
                            .as_ref()
                            .map(|e| e.platform.clone())
                            .unwrap_or_default(),
                        received_at: delivery.received_at,
                        status: reading.status,
                        reason: reading.reason.clone(),
                        event: reading.event.clone(),
                        raw_id,
                        duplicates: 0,
                        erased_at: None,
                        buyer_from,
                    };
                    events.insert(id, to_json(&record)?.as_slice())?;
                    day_counts.count(&record);
                    if let Some((_, path)) = held {
                        hold.queue(EventId(id), delivery.store_id, path, delivery.received_at)?;
                    }
                    if let Some(event) = taken.and_then(|t| t.event) {
                        filled.insert((delivery_index, reading_index), event);
                    }
                    if record.status == Status::Ok {
                        to_plan.push((
                            delivery.store_id,
                            EventId(id),
                            delivery_index,
                            reading_index,
                        ));
                    }
                    let entry = touched.entry(delivery.store_id).or_insert((
                        delivery.received_at,
                        delivery.received_at,
                        0,
                    ));
                    entry.0 = entry.0.min(delivery.received_at);
                    entry.1 = entry.1.max(delivery.received_at);
                    entry.2 += 1;
                    recorded.push(Recorded::New(EventId(id)));
                    if report_new {
                        new_records.push(record);
                    }
                }
                results.push(recorded);
            }
            for (original, hits) in duplicate_hits {
                let record: Option<EventRecord> = events
                    .get(original)?
                    .map(|b| from_json(b.value()))
                    .transpose()?;
                if let Some(mut record) = record {
                    record.duplicates += hits;
                    events.insert(original, to_json(&record)?.as_slice())?;
                }
            }
            for (store_id, (first, last, count)) in touched {
                let record: Option<crate::domain::Store> = stores
                    .get(store_id.0)?
                    .map(|b| from_json(b.value()))
                    .transpose()?;
                if let Some(mut record) = record {
                    record.first_event_at.get_or_insert(first);
                    record.last_event_at = Some(last);
                    record.event_count += count;
                    stores.insert(store_id.0, to_json(&record)?.as_slice())?;
                }
            }
            dedup.finish()?;
            day_counts.write(&mut event_days)?;
            sequences.insert("events", last_id)?;
            if new_unmapped > 0 {
                let current = counters
                    .get(UNMAPPED_UNACKED)?
                    .map(|v| v.value())
                    .unwrap_or(0);
                counters.insert(UNMAPPED_UNACKED, current + new_unmapped)?;
            }
        }
        {
            // Reported before planning opens the message tables: `event.received` precedes
            // the `message.planned` it leads to.
            for record in &new_records {
                let phone = record
                    .event
                    .as_ref()
                    .and_then(|e| e.customer.phone.as_ref())
                    .map(|p| p.as_str().to_owned());
                emitter.emit(
                    crate::domain::outbound::OutboundEvent::EventReceived,
                    &[record.store_id],
                    phone.as_deref(),
                    record.received_at,
                    || super::outbound_report::event_data(record),
                )?;
            }
            // Closed before planning, which reports through its own.
            drop(emitter);
        }
        let mut planned = 0;
        if !to_plan.is_empty() {
            let (settings, company_name) = {
                let table = txn.open_table(tables::SETTINGS)?;
                let console = super::settings::read_console_settings(&table)?;
                (
                    super::settings::read_message_settings(&table)?,
                    console.company_name,
                )
            };
            let stores: HashMap<StoreId, crate::domain::Store> = {
                let table = txn.open_table(tables::STORES)?;
                let mut stores = HashMap::new();
                for (store_id, ..) in &to_plan {
                    if let Some(bytes) = table.get(store_id.0)? {
                        stores.insert(*store_id, from_json(bytes.value())?);
                    }
                }
                stores
            };
            let mut planner = super::planning::Planner::open(&txn)?;
            for (store_id, event_id, d, r) in to_plan {
                let event = filled.get(&(d, r)).or(batch[d].readings[r].event.as_ref());
                let (Some(store), Some(event)) = (stores.get(&store_id), event) else {
                    continue;
                };
                planned += planner.plan(
                    store,
                    event_id,
                    event,
                    &settings,
                    &company_name,
                    batch[d].received_at,
                )?;
            }
            planner.finish()?;
        }
        keys.commit(txn)?;
        if planned > 0 {
            self.planned
                .fetch_add(planned as u64, std::sync::atomic::Ordering::Release);
        }
        Ok(results)
    }

    /// Newest first, filtered.
    pub fn list_events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::EVENTS)?;
        let upper = filter.before_id.map_or(u64::MAX, EventId::get);
        let mut out = Vec::new();
        for row in table.range(..upper)?.rev() {
            let record: EventRecord = from_json(row?.1.value())?;
            if filter.since.is_some_and(|s| record.received_at < s) {
                // Ids grow with time: everything further back is older still.
                break;
            }
            let wanted = filter.store_id.is_none_or(|s| s == record.store_id)
                && filter.kind.is_none_or(|k| record.kind() == Some(k))
                && filter.status.is_none_or(|s| s == record.status)
                && filter
                    .invalid
                    .is_none_or(|k| record.invalid_kind() == Some(k))
                && filter.until.is_none_or(|u| record.received_at <= u);
            if wanted {
                out.push(record);
                if out.len() >= filter.limit.max(1) {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Each store's run of same-kind invalid deliveries among its latest ones received at or
    /// after `since` (newest first: a store whose last webhooks all failed the signature
    /// check, or all lacked a phone). Stops reading once every store's run is decided.
    pub fn invalid_runs(
        &self,
        since: i64,
        min: u32,
    ) -> Result<Vec<(StoreId, crate::ingest::invalid::Run)>, DbError> {
        // Deleted stores' events are left out: they would count toward "every store decided".
        let live: std::collections::HashSet<StoreId> =
            self.list_stores()?.iter().map(|s| s.id).collect();
        let read = self.begin_read()?;
        let table = read.open_table(tables::EVENTS)?;
        let mut runs = crate::ingest::invalid::Runs::default();
        for row in table.iter()?.rev() {
            let record: EventRecord = from_json(row?.1.value())?;
            if record.received_at < since || runs.all_ended(live.len()) {
                break;
            }
            if !live.contains(&record.store_id) {
                continue;
            }
            runs.push(record.store_id, record.invalid_kind(), record.received_at);
        }
        Ok(runs.at_least(min))
    }

    /// Whether any event was received by a store not in `stores` (a deleted one): a read of the
    /// per-day event counts, which are few next to the events.
    pub fn has_events_outside(&self, stores: &[StoreId]) -> Result<bool, DbError> {
        let read = self.begin_read()?;
        for row in read.open_table(tables::EVENT_DAYS)?.iter()? {
            let (key, _) = row?;
            if !stores.contains(&StoreId(key.value().1)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One event and the raw delivery it came in.
    pub fn event(&self, id: EventId) -> Result<(EventRecord, RawDelivery), DbError> {
        let read = self.begin_read()?;
        let record: EventRecord = from_json(
            read.open_table(tables::EVENTS)?
                .get(id.0)?
                .ok_or(DbError::NotFound)?
                .value(),
        )?;
        let raw = match read.open_table(tables::RAW_BODIES)?.get(record.raw_id)? {
            Some(bytes) => decode_raw(bytes.value())?,
            None => RawDelivery::default(),
        };
        Ok((record, raw))
    }

    /// Unmapped events that arrived since the merchant last acknowledged them.
    pub fn unacknowledged_unmapped(&self) -> Result<u64, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::COUNTERS)?;
        Ok(table.get(UNMAPPED_UNACKED)?.map(|v| v.value()).unwrap_or(0))
    }

    pub fn acknowledge_unmapped(&self) -> Result<(), DbError> {
        self.acknowledge_unmapped_seen(u64::MAX)
    }

    /// Acknowledges the `seen` unmapped events the merchant was shown; any that arrived after
    /// the page was drawn keep the alert up.
    pub fn acknowledge_unmapped_seen(&self, seen: u64) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut counters = txn.open_table(tables::COUNTERS)?;
            let current = counters
                .get(UNMAPPED_UNACKED)?
                .map(|v| v.value())
                .unwrap_or(0);
            counters.insert(UNMAPPED_UNACKED, current.saturating_sub(seen))?;
        }
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
