//! Reading the report counters: a period is a range read over day-keyed rows (`report_ledger.rs`
//! keeps them), summed here by day, template and step; the per-buyer frequency; the messages of a
//! period for export; and the recount that proves the counters match the records.

use std::collections::{BTreeMap, HashMap};

use redb::ReadableTable;

use super::{Db, DbError, from_json, tables};
use crate::domain::Message;
use crate::domain::report::{Counters, DayKey};
use crate::domain::{EventKind, InstanceId, StoreId};

/// Which rows a report reads. Days are `domain::report` day numbers, both ends included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFilter {
    pub first_day: i32,
    pub last_day: i32,
    pub store_id: Option<StoreId>,
    pub instance_id: Option<InstanceId>,
    pub kind: Option<EventKind>,
    /// Count sandbox and test-number messages too.
    pub include_test: bool,
}

impl ReportFilter {
    fn admits(&self, k: &DayKey) -> bool {
        self.store_id.is_none_or(|s| s == k.store_id)
            && self.instance_id.is_none_or(|i| i == k.instance_id)
            && self.kind.is_none_or(|kind| kind == k.kind)
            && (self.include_test || !k.test)
    }
}

/// The rows of a period that pass the filter, and the events received per day.
#[derive(Clone, Debug, Default)]
pub struct ReportRows {
    pub rows: Vec<(DayKey, Counters)>,
    /// (day, event kind or `unmapped`/`invalid`, count), summed over the filtered stores.
    pub events: Vec<(i32, String, u64)>,
}

impl ReportRows {
    pub fn totals(&self) -> Counters {
        let mut out = Counters::default();
        for (_, c) in &self.rows {
            out.add(c);
        }
        out
    }

    pub fn by_day(&self) -> BTreeMap<i32, Counters> {
        let mut out: BTreeMap<i32, Counters> = BTreeMap::new();
        for (k, c) in &self.rows {
            out.entry(k.day).or_default().add(c);
        }
        out
    }

    /// Per template (event kind) and follow-up step.
    pub fn by_template(&self) -> BTreeMap<(EventKind, u32), Counters> {
        let mut out: BTreeMap<(EventKind, u32), Counters> = BTreeMap::new();
        for (k, c) in &self.rows {
            out.entry((k.kind, k.step)).or_default().add(c);
        }
        out
    }

    pub fn by_store(&self) -> BTreeMap<StoreId, Counters> {
        let mut out: BTreeMap<StoreId, Counters> = BTreeMap::new();
        for (k, c) in &self.rows {
            out.entry(k.store_id).or_default().add(c);
        }
        out
    }
}

/// How many messages one buyer got in a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuyerCount {
    /// E.164, or an erased buyer's pseudonym (`domain::erasure`).
    pub phone: String,
    pub messages: u64,
}

/// Buyers by how many messages they got: 1, 2, 3, 4 or more; and the most messaged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuyerFrequency {
    pub histogram: [u64; 4],
    pub top: Vec<BuyerCount>,
}

impl Db {
    /// The report rows of a period: one range read over the days.
    pub fn report_rows(&self, filter: &ReportFilter) -> Result<ReportRows, DbError> {
        let read = self.begin_read()?;
        let days = read.open_table(tables::REPORT_DAYS)?;
        let mut rows = Vec::new();
        let start = (filter.first_day, 0u64, 0u64, "", 0u32, false);
        for row in days.range(start..)? {
            let (k, v) = row?;
            let (day, store_id, instance_id, kind, step, test) = k.value();
            if day > filter.last_day {
                break;
            }
            let Some(kind) = EventKind::parse_with_custom(kind) else {
                continue;
            };
            let key = DayKey {
                day,
                store_id: StoreId(store_id),
                instance_id: InstanceId(instance_id),
                kind,
                step,
                test,
            };
            if filter.admits(&key) {
                rows.push((key, super::report_ledger::decode(v.value())));
            }
        }
        let events_table = read.open_table(tables::EVENT_DAYS)?;
        let mut events: BTreeMap<(i32, String), u64> = BTreeMap::new();
        for row in events_table.range((filter.first_day, 0u64, "")..)? {
            let (k, v) = row?;
            let (day, store_id, bucket) = k.value();
            if day > filter.last_day {
                break;
            }
            let kind_ok = filter.kind.is_none_or(|kind| kind.as_str() == bucket);
            if filter.store_id.is_none_or(|s| s.0 == store_id) && kind_ok {
                *events.entry((day, bucket.to_owned())).or_default() += v.value();
            }
        }
        Ok(ReportRows {
            rows,
            events: events.into_iter().map(|((d, b), n)| (d, b, n)).collect(),
        })
    }

    /// Buyers by messages received in the period (store and instance filters apply; test
    /// messages never count), and the `top` most messaged.
    pub fn buyer_frequency(
        &self,
        filter: &ReportFilter,
        top: usize,
    ) -> Result<BuyerFrequency, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::BUYER_DAYS)?;
        let mut per_buyer: HashMap<u64, u64> = HashMap::new();
        let range =
            (filter.first_day, 0u64, 0u64, 0u64)..=(filter.last_day, u64::MAX, u64::MAX, u64::MAX);
        for row in table.range(range)? {
            let (k, v) = row?;
            let (_, store_id, instance_id, phone) = k.value();
            if filter.store_id.is_none_or(|s| s.0 == store_id)
                && filter.instance_id.is_none_or(|i| i.0 == instance_id)
            {
                *per_buyer.entry(phone).or_default() += v.value();
            }
        }
        let mut out = BuyerFrequency::default();
        let mut ranked: Vec<(u64, u64)> = Vec::new();
        for (phone, n) in per_buyer {
            out.histogram[(n.clamp(1, 4) - 1) as usize] += 1;
            ranked.push((n, phone));
        }
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        out.top = ranked
            .into_iter()
            .take(top)
            .map(|(messages, phone)| BuyerCount {
                phone: match phone.checked_sub(crate::domain::erasure::ERASED_BASE) {
                    Some(n) => crate::domain::erasure::pseudonym(n),
                    None => format!("+{phone}"),
                },
                messages,
            })
            .collect();
        Ok(out)
    }

    /// The messages that count in a period (newest first, at most `limit`), for the export. A
    /// scan of the messages: exports are rare, page loads never call this.
    pub fn report_messages(
        &self,
        filter: &ReportFilter,
        limit: usize,
    ) -> Result<(Vec<Message>, bool), DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::MESSAGES)?;
        let mut out = Vec::new();
        for row in table.iter()?.rev() {
            let m: Message = from_json(row?.1.value())?;
            let day = crate::domain::report::message_day(&m);
            let key = DayKey {
                day,
                store_id: m.store_id,
                instance_id: m.instance_id.unwrap_or_default(),
                kind: m.kind,
                step: m.step,
                test: m.test,
            };
            if (filter.first_day..=filter.last_day).contains(&day) && filter.admits(&key) {
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push(m);
            }
        }
        Ok((out, false))
    }

    /// The recovery credited to an order, if any.
    pub fn recovery(
        &self,
        store_id: StoreId,
        order_id: &str,
    ) -> Result<Option<crate::domain::report::Recovery>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::RECOVERED_ORDERS)?;
        table
            .get((store_id.0, order_id))?
            .map(|b| from_json(b.value()))
            .transpose()
    }

    /// Recounts every report counter from the records and lists where the stored counters
    /// differ (empty: they match). A full scan, for tests and `avisa` maintenance.
    pub fn verify_report_counters(&self) -> Result<Vec<String>, DbError> {
        let read = self.begin_read()?;
        let expected = super::report_ledger::recount(
            &read.open_table(tables::MESSAGES)?,
            &read.open_table(tables::RECOVERED_ORDERS)?,
            &read.open_table(tables::EVENTS)?,
        )?;
        let stored = super::report_ledger::stored(
            &read.open_table(tables::REPORT_DAYS)?,
            &read.open_table(tables::BUYER_DAYS)?,
            &read.open_table(tables::EVENT_DAYS)?,
        )?;
        let mut diffs = Vec::new();
        diff(&mut diffs, "day", &expected.days, &stored.days);
        diff(&mut diffs, "buyer", &expected.buyers, &stored.buyers);
        diff(&mut diffs, "events", &expected.events, &stored.events);
        Ok(diffs)
    }
}

fn diff<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    out: &mut Vec<String>,
    what: &str,
    expected: &BTreeMap<K, V>,
    stored: &BTreeMap<K, V>,
) {
    for (k, v) in expected {
        match stored.get(k) {
            Some(s) if s == v => {}
            other => out.push(format!("{what} {k:?}: recount {v:?}, stored {other:?}")),
        }
    }
    for (k, v) in stored {
        if !expected.contains_key(k) {
            out.push(format!("{what} {k:?}: stored {v:?}, recount has none"));
        }
    }
}
