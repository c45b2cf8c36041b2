//! Deliverability's storage (issue 15): wire id → message, remembered is-on-WhatsApp answers,
//! each instance's health counters per day, and the policy's decisions applied to the instance.
//! The counters are bumped inside the transaction of the change they count (`bump_health`).

use redb::{ReadableMultimapTable, ReadableTable, WriteTransaction};

use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::deliverability::{
    Counts, HealthDay, OnWhatsapp, Thresholds, Verdict, decide, legacy_message_id,
};
use crate::domain::report::day_number;
use crate::domain::{Instance, InstanceId, Message, MessageId};

/// The settings document of the policy's thresholds.
const THRESHOLDS: &str = "deliverability";
/// A buyer who wrote within this long is not "cold": a send to them is not unanswered.
pub const REPLY_WINDOW_S: i64 = 30 * 24 * 3600;
/// Days of health counters kept per instance.
pub const HEALTH_DAYS_KEPT: i32 = 90;

impl Db {
    /// The message a wire id names: through `WIRE_IDS`, or the legacy `AVISA{id}` prefix.
    pub fn message_for_wire(&self, wire: &str) -> Result<Option<MessageId>, DbError> {
        let read = self.begin_read()?;
        if let Some(id) = read.open_table(tables::WIRE_IDS)?.get(wire)? {
            return Ok(Some(MessageId(id.value())));
        }
        Ok(legacy_message_id(wire))
    }

    /// What the is-on-WhatsApp lookup said about `e164` through this instance, if still fresh.
    pub fn on_whatsapp(
        &self,
        instance_id: InstanceId,
        e164: &str,
        now: i64,
    ) -> Result<Option<OnWhatsapp>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::ON_WHATSAPP)?;
        let answer: Option<OnWhatsapp> = table
            .get((e164, instance_id.0))?
            .map(|b| from_json(b.value()))
            .transpose()?;
        Ok(answer.filter(|a| a.fresh(now)))
    }

    pub fn save_on_whatsapp(
        &self,
        instance_id: InstanceId,
        e164: &str,
        answer: &OnWhatsapp,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::ON_WHATSAPP)?
            .insert((e164, instance_id.0), to_json(answer)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// Forgets an instance's lookups (a new pairing may be another account).
    pub fn clear_on_whatsapp(&self, instance_id: InstanceId) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(tables::ON_WHATSAPP)?;
            table.retain(|(_, instance), _| instance != instance_id.0)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// An instance's health counters for the days `from..=to` (day numbers), oldest first.
    pub fn health_days(
        &self,
        instance_id: InstanceId,
        from: i32,
        to: i32,
    ) -> Result<Vec<(i32, HealthDay)>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::HEALTH_DAYS)?;
        let mut out = Vec::new();
        for row in table.range((instance_id.0, from)..=(instance_id.0, to))? {
            let (k, v) = row?;
            out.push((k.value().1, from_json(v.value())?));
        }
        Ok(out)
    }

    /// The policy's thresholds (Configurações; defaults when never saved).
    pub fn thresholds(&self) -> Result<Thresholds, DbError> {
        let read = self.begin_read()?;
        match read.open_table(tables::SETTINGS)?.get(THRESHOLDS)? {
            Some(bytes) => from_json(bytes.value()),
            None => Ok(Thresholds::default()),
        }
    }

    pub fn save_thresholds(&self, thresholds: &Thresholds) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::SETTINGS)?
            .insert(THRESHOLDS, to_json(thresholds)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// Asks the policy about an instance at `now` and applies its verdict (logged on the
    /// instance), in one transaction. Returns the verdict when the level changed.
    pub fn review_health(
        &self,
        instance_id: InstanceId,
        now: i64,
    ) -> Result<Option<Verdict>, DbError> {
        let thresholds = self.thresholds()?;
        let today = day_number(now);
        let txn = self.begin_write()?;
        let verdict = {
            let days = read_days(&txn, instance_id, today - HEALTH_DAYS_KEPT, today)?;
            let mut instances = txn.open_table(tables::INSTANCES)?;
            let instance: Option<Instance> = instances
                .get(instance_id.0)?
                .map(|b| from_json(b.value()))
                .transpose()?;
            let Some(mut instance) = instance else {
                return Ok(None);
            };
            let counts = instance.health.window(&days, today, &thresholds);
            let verdict = decide(&counts, &thresholds, &instance.health, now);
            if let Some(verdict) = &verdict {
                instance.health.apply(verdict, now);
                instances.insert(instance_id.0, to_json(&instance)?.as_slice())?;
            }
            verdict
        };
        if verdict.is_some() {
            txn.commit()?;
        }
        Ok(verdict)
    }

    /// The merchant resumes a slowed or paused instance: back to normal, what was counted so
    /// far is not judged again.
    pub fn resume_instance(&self, instance_id: InstanceId, now: i64) -> Result<Instance, DbError> {
        let today = day_number(now);
        let txn = self.begin_write()?;
        let instance = {
            let days = read_days(&txn, instance_id, today, today)?;
            let today_counts = Counts::of(days.iter().map(|(_, d)| d));
            let mut instances = txn.open_table(tables::INSTANCES)?;
            let mut instance: Instance = match instances.get(instance_id.0)? {
                Some(b) => from_json(b.value())?,
                None => return Err(DbError::NotFound),
            };
            instance.health.resume(today, today_counts, now);
            instances.insert(instance_id.0, to_json(&instance)?.as_slice())?;
            instance
        };
        txn.commit()?;
        Ok(instance)
    }

    /// The instance's channel is connected as `number` at `now`: a WhatsApp instance's first
    /// pairing (or a different number) starts the warm-up ramp (`WarmUp::paired`), logged on
    /// the instance. Returns why the ramp started, if it did; writes only when something changed.
    pub fn note_pairing(
        &self,
        instance_id: InstanceId,
        number: &str,
        now: i64,
    ) -> Result<Option<&'static str>, DbError> {
        let txn = self.begin_write()?;
        let started = {
            let mut instances = txn.open_table(tables::INSTANCES)?;
            let mut instance: Instance = match instances.get(instance_id.0)? {
                Some(b) => from_json(b.value())?,
                None => return Err(DbError::NotFound),
            };
            if instance.mode != crate::domain::InstanceMode::Whatsapp
                || instance.warmup.paired_number.as_deref() == Some(number)
            {
                return Ok(None);
            }
            let sent_before = instance.last_sent_at.is_some();
            let started = instance.warmup.paired(number, sent_before, now);
            if let Some(reason) = started {
                instance.health.note(reason, now);
            }
            instances.insert(instance_id.0, to_json(&instance)?.as_slice())?;
            started
        };
        txn.commit()?;
        Ok(started)
    }

    /// WhatsApp reported a reachout timelock until `until` (or none): kept on the instance for
    /// the policy.
    pub fn set_timelock(&self, instance_id: InstanceId, until: Option<i64>) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut instances = txn.open_table(tables::INSTANCES)?;
            let mut instance: Instance = match instances.get(instance_id.0)? {
                Some(b) => from_json(b.value())?,
                None => return Err(DbError::NotFound),
            };
            instance.health.timelock_until = until;
            instances.insert(instance_id.0, to_json(&instance)?.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }
}

impl Db {
    /// WhatsApp answered the timelock query at `checked_at`: a timelock until `until` (or
    /// none). Kept on the instance for the policy and the instance page; the next look is due
    /// from `checked_at` (`domain::deliverability::timelock::due`).
    pub fn record_timelock(
        &self,
        instance_id: InstanceId,
        until: Option<i64>,
        checked_at: i64,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut instances = txn.open_table(tables::INSTANCES)?;
            let mut instance: Instance = match instances.get(instance_id.0)? {
                Some(b) => from_json(b.value())?,
                None => return Err(DbError::NotFound),
            };
            instance.health.timelock_until = until;
            instance.health.timelock_checked_at = Some(checked_at);
            instances.insert(instance_id.0, to_json(&instance)?.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }
}

fn read_days(
    txn: &WriteTransaction,
    instance_id: InstanceId,
    from: i32,
    to: i32,
) -> Result<Vec<(i32, HealthDay)>, DbError> {
    let table = txn.open_table(tables::HEALTH_DAYS)?;
    let mut out = Vec::new();
    for row in table.range((instance_id.0, from)..=(instance_id.0, to))? {
        let (k, v) = row?;
        out.push((k.value().1, from_json(v.value())?));
    }
    Ok(out)
}

/// Adds to an instance's counters of the Brasília day of `at`, inside `txn`; old days go.
pub(super) fn bump_health(
    txn: &WriteTransaction,
    instance_id: InstanceId,
    at: i64,
    change: impl FnOnce(&mut HealthDay),
) -> Result<(), DbError> {
    let day = day_number(at);
    let mut table = txn.open_table(tables::HEALTH_DAYS)?;
    let mut counters: HealthDay = table
        .get((instance_id.0, day))?
        .map(|b| from_json(b.value()))
        .transpose()?
        .unwrap_or_default();
    change(&mut counters);
    table.insert((instance_id.0, day), to_json(&counters)?.as_slice())?;
    let old: Vec<i32> = table
        .range((instance_id.0, i32::MIN)..(instance_id.0, day - HEALTH_DAYS_KEPT))?
        .map(|row| row.map(|(k, _)| k.value().1))
        .collect::<Result<_, _>>()?;
    for d in old {
        table.remove((instance_id.0, d))?;
    }
    Ok(())
}

/// Whether `buyer` wrote to avisa within 30 days before `at` (a send to them is not cold).
pub(super) fn wrote_recently(
    txn: &WriteTransaction,
    buyer: &str,
    at: i64,
) -> Result<bool, DbError> {
    let table = txn.open_table(tables::CONVERSATIONS)?;
    for row in table.range((buyer, 0)..=(buyer, u64::MAX))?.rev() {
        let (_, v) = row?;
        let entry: super::ConversationEntry = from_json(v.value())?;
        if entry.kind.incoming() && entry.at <= at && at - entry.at < REPLY_WINDOW_S {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A buyer answered through `instance_id` at `at`: their sends still counted unanswered (30
/// days back) are answered now, and their days' counts drop.
pub(super) fn answered(
    txn: &WriteTransaction,
    ledger: &mut super::report_ledger::Ledger<'_>,
    instance_id: InstanceId,
    buyer: &str,
    at: i64,
) -> Result<(), DbError> {
    let ids: Vec<u64> = {
        let index = txn.open_multimap_table(tables::MESSAGES_BY_PHONE)?;
        index
            .get(buyer)?
            .map(|v| v.map(|v| v.value()))
            .collect::<Result<_, _>>()?
    };
    for id in ids {
        let Some(mut message): Option<Message> = ledger.get(MessageId(id))? else {
            continue;
        };
        let sent_at = message
            .history
            .iter()
            .rev()
            .find_map(|c| (c.status == crate::domain::MessageStatus::Sent).then_some(c.at));
        let Some(sent_at) = sent_at else { continue };
        if !message.awaiting_reply
            || message.instance_id != Some(instance_id)
            || at - sent_at > REPLY_WINDOW_S
        {
            continue;
        }
        message.awaiting_reply = false;
        ledger.put(&message)?;
        bump_health(txn, instance_id, sent_at, |d| {
            d.unanswered = d.unanswered.saturating_sub(1)
        })?;
    }
    Ok(())
}
