//! Thin notifications' storage: each store's platform API credentials, and the queue of events
//! waiting for their resource ("aguardando dados da plataforma"). A job is written by
//! `record_deliveries` in the transaction of its event (so a restart resumes it), claimed under a
//! lease by the worker (`queue::enrich`), and finished in one transaction that re-writes the
//! event with the merged reading and plans it. The rules (schedule, judgement) are
//! `domain::enrichment`'s; what to fetch and the merge are `ingest::enrich`'s.

use std::time::Duration;

use redb::{ReadableTable, Table, WriteTransaction};

use super::bell::Bell;
use super::events::{EventRecord, RawDelivery, UNMAPPED_UNACKED, decode_raw};
use super::mappings::move_day_count;
use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::enrichment::{ApiCredentials, EnrichAttempt, EnrichJob, GiveUp, LEASE_S};
use crate::domain::{Event, EventId, Platform, Store, StoreId};
use crate::ingest::{self, Reading, Request, Status};

/// Rung when a job is queued or a test steps its clock: the worker sleeps on it.
static BELL: Bell = Bell::new();

/// How many times the bell has rung: pass it to `wait_for_enrichment`.
pub fn enrichment_rings() -> u64 {
    BELL.rings()
}

/// Wakes the enrichment worker.
pub fn ring_enrichment() {
    BELL.ring();
}

/// Blocks until the bell rings past `seen` or `timeout` passes (a blocking context only).
pub fn wait_for_enrichment(seen: u64, timeout: Duration) {
    BELL.wait(seen, timeout);
}

/// A job the worker took, with what it needs to make the call.
#[derive(Clone, Debug)]
pub struct ClaimedEnrichment {
    pub job: EnrichJob,
    pub platform: Platform,
    /// `None`: the store lost its credentials (or was deleted) while the event waited.
    pub credentials: Option<ApiCredentials>,
    /// The thin event as recorded.
    pub event: Event,
}

/// How a job ends.
#[derive(Clone, Debug)]
pub enum Finish {
    /// The resource came and the recogniser merged it: this is the event's new reading.
    Merged(Box<Reading>),
    GaveUp(GiveUp),
}

/// The tables the intake needs to hold thin events, opened once per batch.
pub(super) struct Hold<'txn> {
    credentials: Table<'txn, u64, &'static [u8]>,
    jobs: Table<'txn, u64, &'static [u8]>,
    due: Table<'txn, (i64, u64), ()>,
}

impl<'txn> Hold<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Hold<'txn>, DbError> {
        Ok(Hold {
            credentials: txn.open_table(tables::STORE_API_CREDENTIALS)?,
            jobs: txn.open_table(tables::ENRICH_JOBS)?,
            due: txn.open_table(tables::ENRICH_DUE)?,
        })
    }

    /// If `reading` is a thin notification of a store with API credentials: the reading held as
    /// awaiting, and the resource's path.
    pub(super) fn hold(
        &self,
        store: Option<&Store>,
        raw: &RawDelivery,
        reading: &Reading,
    ) -> Result<Option<(Reading, String)>, DbError> {
        let Some(store) = store else { return Ok(None) };
        if ingest::enrich::credential(store.platform).is_none()
            || self.credentials.get(store.id.0)?.is_none()
        {
            return Ok(None);
        }
        let req = Request::new(&raw.body, &raw.headers, &raw.query);
        Ok(
            ingest::enrich::target(store.platform, &req, reading).map(|path| {
                let held = Reading {
                    status: Status::Awaiting,
                    reason: None,
                    event: reading.event.clone(),
                };
                (held, path)
            }),
        )
    }

    /// Queues the fetch of a held event, due at once.
    pub(super) fn queue(
        &mut self,
        event_id: EventId,
        store_id: StoreId,
        path: String,
        now: i64,
    ) -> Result<(), DbError> {
        let job = EnrichJob {
            event_id,
            store_id,
            path,
            next_at: now,
            tries: 0,
            attempts: Vec::new(),
        };
        put_job(&mut self.jobs, &mut self.due, None, &job)?;
        ring_enrichment();
        Ok(())
    }
}

type Jobs<'t> = Table<'t, u64, &'static [u8]>;
type Due<'t> = Table<'t, (i64, u64), ()>;

/// Stores a job and keeps the due index in step.
fn put_job(
    jobs: &mut Jobs<'_>,
    due: &mut Due<'_>,
    before: Option<&EnrichJob>,
    after: &EnrichJob,
) -> Result<(), DbError> {
    if let Some(old) = before {
        due.remove((old.next_at, old.event_id.0))?;
    }
    due.insert((after.next_at, after.event_id.0), ())?;
    jobs.insert(after.event_id.0, to_json(after)?.as_slice())?;
    Ok(())
}

fn take_job(
    jobs: &mut Jobs<'_>,
    due: &mut Due<'_>,
    event_id: EventId,
) -> Result<Option<EnrichJob>, DbError> {
    let job: Option<EnrichJob> = jobs
        .remove(event_id.0)?
        .map(|b| from_json(b.value()))
        .transpose()?;
    if let Some(job) = &job {
        due.remove((job.next_at, job.event_id.0))?;
    }
    Ok(job)
}

impl Db {
    /// Once a store's API credentials are saved: its thin notifications kept unmapped for want
    /// of them, received at or after `since`, wait for the platform's API like new ones (their
    /// jobs due at once, planned late when filled in; the unmapped badge stops counting them).
    /// How many.
    pub fn hold_unmapped_thin(
        &self,
        store_id: StoreId,
        since: i64,
        now: i64,
    ) -> Result<usize, DbError> {
        let txn = self.begin_write()?;
        let held = {
            let store: Option<Store> = txn
                .open_table(tables::STORES)?
                .get(store_id.0)?
                .map(|b| from_json(b.value()))
                .transpose()?;
            let mut hold = Hold::open(&txn)?;
            let mut events = txn.open_table(tables::EVENTS)?;
            let raws = txn.open_table(tables::RAW_BODIES)?;
            let mut event_days = txn.open_table(tables::EVENT_DAYS)?;
            // Event ids grow with arrival: the newest first, until one arrived before `since`.
            let mut unmapped = Vec::new();
            for row in events.iter()?.rev() {
                let record: EventRecord = from_json(row?.1.value())?;
                if record.received_at < since {
                    break;
                }
                if record.store_id == store_id
                    && record.status == Status::Unmapped
                    && record.erased_at.is_none()
                {
                    unmapped.push(record);
                }
            }
            let mut held = 0;
            for mut record in unmapped {
                let Some(raw) = raws.get(record.raw_id)?.map(|b| decode_raw(b.value())) else {
                    continue;
                };
                let Some((awaiting, path)) = hold.hold(store.as_ref(), &raw?, &record.reading())?
                else {
                    continue;
                };
                move_day_count(&mut event_days, &record, |r| {
                    r.status = awaiting.status;
                    r.reason = None;
                })?;
                record.status = awaiting.status;
                record.reason = None;
                events.insert(record.id.0, to_json(&record)?.as_slice())?;
                hold.queue(record.id, store_id, path, now)?;
                held += 1;
            }
            if held > 0 {
                let mut counters = txn.open_table(tables::COUNTERS)?;
                let n = counters.get(UNMAPPED_UNACKED)?.map_or(0, |v| v.value());
                counters.insert(UNMAPPED_UNACKED, n.saturating_sub(held as u64))?;
            }
            held
        };
        txn.commit()?;
        if held > 0 {
            ring_enrichment();
        }
        Ok(held)
    }

    /// The store's platform API credentials, if the merchant saved them.
    pub fn api_credentials(&self, store_id: StoreId) -> Result<Option<ApiCredentials>, DbError> {
        let read = self.begin_read()?;
        read.open_table(tables::STORE_API_CREDENTIALS)?
            .get(store_id.0)?
            .map(|b| from_json(b.value()))
            .transpose()
    }

    /// Saves (or with `None` removes) a store's API credentials.
    pub fn set_api_credentials(
        &self,
        store_id: StoreId,
        credentials: Option<&ApiCredentials>,
    ) -> Result<(), DbError> {
        self.set_store_record(tables::STORE_API_CREDENTIALS, store_id, credentials)
    }

    /// Replaces a store's credentials with `updated` (a new access token, and Mercado Livre's
    /// next refresh token) only while they still are `used`, the ones the grant was asked with,
    /// in a transaction of its own: a refresh token works once, so the next one is durable
    /// before the access token is used. `false`: the merchant saved other credentials (or
    /// removed them) meanwhile, and nothing changed.
    pub fn store_grant(
        &self,
        store_id: StoreId,
        used: &ApiCredentials,
        updated: &ApiCredentials,
    ) -> Result<bool, DbError> {
        let txn = self.begin_write()?;
        let stored = {
            let mut table = txn.open_table(tables::STORE_API_CREDENTIALS)?;
            let current: Option<ApiCredentials> = table
                .get(store_id.0)?
                .map(|b| from_json(b.value()))
                .transpose()?;
            let stored = current.as_ref() == Some(used);
            if stored {
                table.insert(store_id.0, to_json(updated)?.as_slice())?;
            }
            stored
        };
        if stored {
            txn.commit()?;
        } else {
            txn.abort()?;
        }
        Ok(stored)
    }

    /// The fetch an awaiting event waits for (the event page shows its attempts).
    pub fn enrich_job(&self, event_id: EventId) -> Result<Option<EnrichJob>, DbError> {
        let read = self.begin_read()?;
        read.open_table(tables::ENRICH_JOBS)?
            .get(event_id.0)?
            .map(|b| from_json(b.value()))
            .transpose()
    }

    /// When the earliest job is due.
    pub fn next_enrichment_due(&self) -> Result<Option<i64>, DbError> {
        let read = self.begin_read()?;
        let due = read.open_table(tables::ENRICH_DUE)?;
        Ok(due.first()?.map(|(k, _)| k.value().0))
    }

    /// Takes up to `limit` jobs due by `now`, each under a lease (`LEASE_S`): a process that dies
    /// mid-call leaves it due again when the lease ends. A job whose event is no longer awaiting
    /// (erased, re-read) is dropped.
    pub fn claim_enrichments(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedEnrichment>, DbError> {
        let txn = self.begin_write()?;
        let mut claimed = Vec::new();
        let mut changed = false;
        {
            let mut jobs = txn.open_table(tables::ENRICH_JOBS)?;
            let mut due = txn.open_table(tables::ENRICH_DUE)?;
            let events = txn.open_table(tables::EVENTS)?;
            let stores = txn.open_table(tables::STORES)?;
            let credentials = txn.open_table(tables::STORE_API_CREDENTIALS)?;
            let ids: Vec<u64> = due
                .range(..=(now, u64::MAX))?
                .take(limit)
                .map(|row| row.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            for id in ids {
                changed = true;
                let Some(before) = take_job(&mut jobs, &mut due, EventId(id))? else {
                    continue;
                };
                let record: Option<EventRecord> =
                    events.get(id)?.map(|b| from_json(b.value())).transpose()?;
                let Some((record, event)) = record
                    .filter(|r| r.status == Status::Awaiting && r.erased_at.is_none())
                    .and_then(|r| r.event.clone().map(|e| (r, e)))
                else {
                    continue;
                };
                let store: Option<Store> = stores
                    .get(record.store_id.0)?
                    .map(|b| from_json(b.value()))
                    .transpose()?;
                let creds: Option<ApiCredentials> = credentials
                    .get(record.store_id.0)?
                    .map(|b| from_json(b.value()))
                    .transpose()?;
                let platform = store
                    .map(|s| s.platform)
                    .or_else(|| Platform::parse(&record.platform))
                    .unwrap_or(Platform::Api);
                let mut after = before.clone();
                after.next_at = now + LEASE_S;
                put_job(&mut jobs, &mut due, None, &after)?;
                claimed.push(ClaimedEnrichment {
                    job: after,
                    platform,
                    credentials: creds,
                    event,
                });
            }
        }
        if changed {
            txn.commit()?;
        } else {
            txn.abort()?;
        }
        Ok(claimed)
    }

    /// Records a failed call and when to call again.
    pub fn retry_enrichment(
        &self,
        event_id: EventId,
        attempt: EnrichAttempt,
        next_at: i64,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut jobs = txn.open_table(tables::ENRICH_JOBS)?;
            let mut due = txn.open_table(tables::ENRICH_DUE)?;
            let Some(before) = take_job(&mut jobs, &mut due, event_id)? else {
                return Ok(());
            };
            let mut after = before;
            after.tries += 1;
            after.next_at = next_at;
            after.attempts.push(attempt);
            put_job(&mut jobs, &mut due, None, &after)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Ends a job in one transaction: the event takes its new reading (merged, or invalid with
    /// the reason it was given up), its day count and dedup key follow, its buyer is remembered
    /// for the order's later events, and a usable event is planned (steps whose moment passed
    /// by more than their delay canceled "chegou tarde", as for re-processed events).
    pub fn finish_enrichment(
        &self,
        event_id: EventId,
        finish: Finish,
        now: i64,
    ) -> Result<Option<EventRecord>, DbError> {
        let txn = self.begin_write()?;
        let mut keys = self.dedup_keys(&txn)?;
        let (record, plan) = {
            let mut jobs = txn.open_table(tables::ENRICH_JOBS)?;
            let mut due = txn.open_table(tables::ENRICH_DUE)?;
            take_job(&mut jobs, &mut due, event_id)?;
            let mut events = txn.open_table(tables::EVENTS)?;
            let record: Option<EventRecord> = events
                .get(event_id.0)?
                .map(|b| from_json(b.value()))
                .transpose()?;
            let Some(mut record) = record.filter(|r| r.status == Status::Awaiting) else {
                drop((jobs, due, events));
                txn.commit()?;
                return Ok(None);
            };
            let reading = match finish {
                Finish::Merged(reading) => *reading,
                Finish::GaveUp(give_up) => Reading {
                    status: Status::Invalid,
                    reason: Some(ingest::enrich::give_up_reason(give_up)),
                    event: record.event.clone(),
                },
            };
            let mut event_days = txn.open_table(tables::EVENT_DAYS)?;
            super::mappings::move_day_count(&mut event_days, &record, |r| {
                r.status = reading.status;
                r.reason = reading.reason.clone();
                r.event = reading.event.clone();
            })?;
            // Another event already carries these facts (a payment.updated after its
            // payment.created, both fetched after the payment): counted there, not planned twice.
            let mut dedup = keys.index(&txn)?;
            let key = reading
                .event
                .as_ref()
                .map(|e| e.dedup_key.clone())
                .filter(|k| !k.is_empty());
            let mut duplicate_of = None;
            if let Some(key) = key.as_deref() {
                let existing = dedup.get(record.store_id.0, key)?;
                match existing {
                    Some(other) if other != event_id.0 => duplicate_of = Some(other),
                    Some(_) => {}
                    None => {
                        dedup.insert(record.store_id.0, key, event_id.0)?;
                    }
                }
            }
            if reading.status == Status::Ok {
                let mut memory = txn.open_table(tables::ORDER_BUYERS)?;
                super::order_memory::remember(
                    &mut memory,
                    record.store_id,
                    event_id,
                    record.received_at,
                    &reading,
                )?;
            }
            if reading.status == Status::Unmapped {
                let mut counters = txn.open_table(tables::COUNTERS)?;
                let n = counters.get(UNMAPPED_UNACKED)?.map_or(0, |v| v.value());
                counters.insert(UNMAPPED_UNACKED, n + 1)?;
            }
            record.status = reading.status;
            record.reason = reading.reason;
            record.event = reading.event;
            events.insert(event_id.0, to_json(&record)?.as_slice())?;
            let plan = record.status == Status::Ok && duplicate_of.is_none();
            (record, plan)
        };
        if plan {
            let store: Option<Store> = txn
                .open_table(tables::STORES)?
                .get(record.store_id.0)?
                .map(|b| from_json(b.value()))
                .transpose()?;
            if let (Some(store), Some(event)) = (store, record.event.as_ref()) {
                let (settings, company_name) = {
                    let table = txn.open_table(tables::SETTINGS)?;
                    let console = super::settings::read_console_settings(&table)?;
                    (
                        super::settings::read_message_settings(&table)?,
                        console.company_name,
                    )
                };
                let mut planner = super::planning::Planner::open(&txn)?;
                planner.plan_late(
                    &store,
                    event_id,
                    event,
                    &settings,
                    &company_name,
                    now,
                    record.received_at,
                )?;
                planner.finish()?;
            }
        }
        keys.commit(txn)?;
        // After the commit: whoever waits on the bell for an event's end reads it ended.
        ring_enrichment();
        Ok(Some(record))
    }
}

/// Used by `delete_store`: the store's credentials go with it (its waiting events are given up
/// by the worker, which finds no credentials).
pub(super) fn remove_credentials(txn: &WriteTransaction, store_id: StoreId) -> Result<(), DbError> {
    txn.open_table(tables::STORE_API_CREDENTIALS)?
        .remove(store_id.0)?;
    Ok(())
}
