//! Messages: the plan of what to send (written by planning in the intake transaction), the queue
//! and the history, and the console's actions on them (cancel, reschedule, send now, dar baixa).

use redb::{ReadableMultimapTable, ReadableTable};

use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::{Change, Message, OptOut, Reason, transition};
use crate::domain::{EventId, EventKind, MessageId, MessageStatus, StoreId};

/// Filters for the Mensagens page.
#[derive(Clone, Debug, Default)]
pub struct MessageFilter {
    pub store_id: Option<StoreId>,
    pub phone: Option<String>,
    pub status: Option<MessageStatus>,
    pub event_id: Option<EventId>,
    pub before_id: Option<MessageId>,
    /// Latest "Previsto para" first (due time, then id) instead of newest first; the page
    /// before (`before_due`, `before_id`) when both are set.
    pub by_due: bool,
    pub before_due: Option<i64>,
    pub limit: usize,
}

/// Puts a message through `change` (`domain::message::transition` decides and appends the
/// history) and keeps the outbox index and the report counters in step. Inside a write
/// transaction. False when the message's status does not allow the change: nothing is written.
pub(super) fn change_status(
    txn: &redb::WriteTransaction,
    record: &mut Message,
    change: Change,
    at: i64,
) -> Result<bool, DbError> {
    let old_due = record.due_at;
    let Ok(from) = transition(record, change, at) else {
        return Ok(false);
    };
    let mut queue = super::queue::Queue::open(txn)?;
    if from == MessageStatus::Scheduled {
        queue.pull(old_due, record.id, record.store_id)?;
    }
    if record.status == MessageStatus::Scheduled {
        queue.push(record.due_at, record.id, record.store_id)?;
    }
    super::report_ledger::Ledger::open(txn)?.put(record)?;
    Ok(true)
}

/// Cancels every pending message of a store (the store is being deleted). A full scan: deleting
/// a store is rare.
pub(super) fn cancel_pending_of_store(
    txn: &redb::WriteTransaction,
    store_id: StoreId,
    reason: &str,
    now: i64,
) -> Result<usize, DbError> {
    let pending: Vec<Message> = {
        let table = txn.open_table(tables::MESSAGES)?;
        let mut found = Vec::new();
        for row in table.iter()? {
            let record: Message = from_json(row?.1.value())?;
            if record.store_id == store_id && record.status.is_pending() {
                found.push(record);
            }
        }
        found
    };
    let count = pending.len();
    for mut record in pending {
        change_status(txn, &mut record, Change::Cancel(reason.to_owned()), now)?;
    }
    Ok(count)
}

fn load(txn: &redb::WriteTransaction, id: MessageId) -> Result<Message, DbError> {
    let table = txn.open_table(tables::MESSAGES)?;
    let bytes = table.get(id.0)?.ok_or(DbError::NotFound)?;
    from_json(bytes.value())
}

impl Db {
    /// Newest first (or latest due first with `by_due`), filtered.
    pub fn list_messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::MESSAGES)?;
        let mut out = Vec::new();
        let limit = filter.limit.max(1);
        // Paging: below the cursor in the list's own order.
        let cursor = match (filter.by_due, filter.before_due, filter.before_id) {
            (true, Some(due), Some(id)) => Some((due, id.0)),
            (true, _, _) => None,
            (false, _, id) => id.map(|id| (i64::MAX, id.0)),
        };
        let below = |record: &Message| {
            cursor.is_none_or(|(due, id)| match filter.by_due {
                true => (record.due_at, record.id.0) < (due, id),
                false => record.id.0 < id,
            })
        };
        let mut push = |record: Message| {
            let wanted = filter.store_id.is_none_or(|s| s == record.store_id)
                && filter.status.is_none_or(|s| s == record.status)
                && filter.event_id.is_none_or(|e| e == record.event_id)
                && below(&record);
            if wanted {
                out.push(record);
            }
            out.len() >= limit
        };
        if let Some(phone) = &filter.phone {
            let by_phone = read.open_multimap_table(tables::MESSAGES_BY_PHONE)?;
            let mut records: Vec<Message> = Vec::new();
            for id in by_phone.get(phone.as_str())? {
                if let Some(bytes) = table.get(id?.value())? {
                    records.push(from_json(bytes.value())?);
                }
            }
            match filter.by_due {
                true => records.sort_unstable_by_key(|m| std::cmp::Reverse((m.due_at, m.id))),
                false => records.sort_unstable_by_key(|m| std::cmp::Reverse(m.id)),
            }
            for record in records {
                if push(record) {
                    break;
                }
            }
        } else if filter.by_due {
            let by_due = read.open_table(tables::MESSAGES_BY_DUE)?;
            let upper = cursor.unwrap_or((i64::MAX, u64::MAX));
            for row in by_due.range(..upper)?.rev() {
                let (_, id) = row?.0.value();
                if let Some(bytes) = table.get(id)?
                    && push(from_json(bytes.value())?)
                {
                    break;
                }
            }
        } else {
            for row in table.iter()?.rev() {
                if push(from_json(row?.1.value())?) {
                    break;
                }
            }
        }
        Ok(out)
    }

    pub fn message(&self, id: MessageId) -> Result<Message, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::MESSAGES)?;
        let bytes = table.get(id.0)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    /// Cancels a message that has not gone out yet.
    pub fn cancel_message(
        &self,
        id: MessageId,
        reason: &str,
        now: i64,
    ) -> Result<Message, DbError> {
        let txn = self.begin_write()?;
        let mut record = load(&txn, id)?;
        if !change_status(&txn, &mut record, Change::Cancel(reason.to_owned()), now)? {
            return Err(DbError::Conflict(format!(
                "message is already {}",
                record.status.as_str()
            )));
        }
        txn.commit()?;
        Ok(record)
    }

    /// Moves a pending message to a new due time (`now` for "enviar agora").
    pub fn reschedule_message(
        &self,
        id: MessageId,
        due_at: i64,
        now: i64,
    ) -> Result<Message, DbError> {
        let txn = self.begin_write()?;
        let mut record = load(&txn, id)?;
        if !change_status(&txn, &mut record, Change::Reschedule { due_at }, now)? {
            return Err(DbError::Conflict(format!(
                "message is already {}",
                record.status.as_str()
            )));
        }
        txn.commit()?;
        Ok(record)
    }

    /// Dar baixa: the merchant marks an order paid by hand; its reminders stop as if the
    /// platform had sent `order.paid`. Returns how many messages were canceled.
    pub fn mark_order_paid(
        &self,
        store_id: StoreId,
        order_id: &str,
        now: i64,
    ) -> Result<usize, DbError> {
        let txn = self.begin_write()?;
        let canceled = {
            let mut planner = super::planning::Planner::open(&txn)?;
            let settings =
                super::settings::read_message_settings(&txn.open_table(tables::SETTINGS)?)?;
            let canceled = planner.mark_paid(store_id, order_id, &settings, now)?;
            planner.finish()?;
            canceled
        };
        txn.commit()?;
        Ok(canceled)
    }

    /// The next scheduled messages, earliest first (the outbox reads this).
    pub fn due_messages(&self, until: i64, limit: usize) -> Result<Vec<Message>, DbError> {
        let read = self.begin_read()?;
        let outbox = read.open_table(tables::OUTBOX)?;
        let messages = read.open_table(tables::MESSAGES)?;
        let mut out = Vec::new();
        for row in outbox.range((i64::MIN, 0)..=(until, u64::MAX))? {
            let (key, _) = row?;
            let (_, id) = key.value();
            if let Some(bytes) = messages.get(id)? {
                out.push(from_json(bytes.value())?);
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    pub fn list_opt_outs(&self) -> Result<Vec<OptOut>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::OPT_OUTS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            out.push(from_json(row?.1.value())?);
        }
        Ok(out)
    }

    /// Whether this buyer address is on the opt-out list.
    pub fn is_opted_out(&self, phone: &str) -> Result<bool, DbError> {
        let read = self.begin_read()?;
        Ok(read.open_table(tables::OPT_OUTS)?.get(phone)?.is_some())
    }

    /// Adds a buyer to the opt-out list and cancels their pending messages.
    pub fn add_opt_out(&self, phone: &str, source: &str, now: i64) -> Result<usize, DbError> {
        let txn = self.begin_write()?;
        let record = OptOut {
            phone: phone.to_owned(),
            added_at: now,
            source: source.to_owned(),
        };
        txn.open_table(tables::OPT_OUTS)?
            .insert(phone, to_json(&record)?.as_slice())?;
        let ids: Vec<u64> = txn
            .open_multimap_table(tables::MESSAGES_BY_PHONE)?
            .get(phone)?
            .map(|v| v.map(|v| v.value()))
            .collect::<Result<_, _>>()?;
        super::outbound_report::report_opt_out(&txn, &record, &ids)?;
        let mut canceled = 0;
        for id in ids {
            let mut message = load(&txn, MessageId(id))?;
            if change_status(
                &txn,
                &mut message,
                Change::Cancel(Reason::OptedOut.code().to_owned()),
                now,
            )? {
                canceled += 1;
            }
        }
        txn.commit()?;
        Ok(canceled)
    }

    pub fn remove_opt_out(&self, phone: &str) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::OPT_OUTS)?.remove(phone)?;
        txn.commit()?;
        Ok(())
    }

    /// The store's template for a kind, or `None` when it uses the shipped default.
    pub fn template(
        &self,
        store_id: StoreId,
        kind: EventKind,
    ) -> Result<Option<crate::domain::template::MessageTemplate>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::TEMPLATES)?;
        table
            .get((store_id.0, kind.as_str()))?
            .map(|b| from_json(b.value()))
            .transpose()
    }

    pub fn save_template(
        &self,
        store_id: StoreId,
        template: &crate::domain::template::MessageTemplate,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::TEMPLATES)?.insert(
            (store_id.0, template.kind.as_str()),
            to_json(template)?.as_slice(),
        )?;
        txn.commit()?;
        Ok(())
    }

    /// Back to the shipped default.
    pub fn reset_template(&self, store_id: StoreId, kind: EventKind) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::TEMPLATES)?
            .remove((store_id.0, kind.as_str()))?;
        txn.commit()?;
        Ok(())
    }
}
