//! The outbox's storage steps: claim a due message under a lease, record each attempt's outcome
//! (sent, retry later, hold, fail) together with the instance's counters, requeue leases that
//! ran out (the process died mid-send: "maybe sent"), expire, and apply WhatsApp's receipts.

use redb::ReadableTable;

use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::MessageStatus;
use crate::domain::planning::is_recovery;
use crate::domain::{Change, Message, Reason, transition};
use crate::domain::{Instance, InstanceId, MessageId, StoreId};

/// What happened to one attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptOutcome {
    /// WhatsApp took it (or the sandbox kept it).
    Sent {
        at: i64,
        sandbox: bool,
        next_slot: i64,
        /// Said in the history just before "sent" (a media part that went out as text, and
        /// why); the sent entry keeps its own reason.
        note: Option<String>,
    },
    /// Transient failure: try again at `at`.
    Retry { at: i64, reason: String },
    /// No live session: back to the queue at its due time, no attempt counted.
    Hold { reason: String },
    /// Never going to work.
    Fail { reason: String },
}

/// A receipt's effect on a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptStatus {
    Delivered,
    Read,
}

impl Db {
    /// Takes a scheduled message for sending until `lease_until`. `None` when it is no longer
    /// scheduled (canceled or claimed meanwhile).
    pub fn claim_message(
        &self,
        id: MessageId,
        instance_id: Option<InstanceId>,
        lease_until: i64,
        now: i64,
    ) -> Result<Option<Message>, DbError> {
        self.claim_for_send(id, instance_id, None, lease_until, now)
    }

    /// `claim_message` for a send to WhatsApp: a message without a wire id takes `wire_id`, and
    /// `WIRE_IDS` learns it in the same transaction, before anything leaves (a crash-retry sends
    /// under the same id, and its receipts still find it). A message that has one keeps it.
    pub fn claim_for_send(
        &self,
        id: MessageId,
        instance_id: Option<InstanceId>,
        wire_id: Option<String>,
        lease_until: i64,
        now: i64,
    ) -> Result<Option<Message>, DbError> {
        let txn = self.begin_write()?;
        let claimed = {
            let mut messages = super::report_ledger::Ledger::open(&txn)?;
            let mut record: Message = match messages.get(id)? {
                Some(record) => record,
                None => return Ok(None),
            };
            let due_at = record.due_at;
            if transition(&mut record, Change::Claim { instance_id }, now).is_err() {
                return Ok(None);
            }
            super::queue::Queue::open(&txn)?.pull(due_at, id, record.store_id)?;
            txn.open_table(tables::LEASES)?
                .insert((lease_until, id.0), ())?;
            if record.wire_id.is_none()
                && let Some(wire_id) = wire_id
            {
                txn.open_table(tables::WIRE_IDS)?
                    .insert(wire_id.as_str(), id.0)?;
                record.wire_id = Some(wire_id);
            }
            messages.put(&record)?;
            record
        };
        txn.commit()?;
        Ok(Some(claimed))
    }

    /// Records an attempt of a claimed message (its lease is `lease_until`), and on a send the
    /// instance's counters, in one transaction.
    pub fn record_attempt(
        &self,
        id: MessageId,
        lease_until: i64,
        outcome: AttemptOutcome,
        now: i64,
    ) -> Result<Message, DbError> {
        let txn = self.begin_write()?;
        let record = {
            let mut messages = super::report_ledger::Ledger::open(&txn)?;
            let mut record: Message = match messages.get(id)? {
                Some(record) => record,
                None => return Err(DbError::NotFound),
            };
            txn.open_table(tables::LEASES)?
                .remove((lease_until, id.0))?;
            let mut queue = super::queue::Queue::open(&txn)?;
            match outcome {
                AttemptOutcome::Sent {
                    at,
                    sandbox,
                    next_slot,
                    note,
                } => {
                    transition(&mut record, Change::Sent { sandbox }, at)
                        .expect("an outcome is recorded from any state");
                    if let Some(note) = note {
                        let sent = record.history.len() - 1;
                        record.history.insert(
                            sent,
                            crate::domain::StatusChange {
                                at,
                                status: MessageStatus::Sending,
                                reason: Some(note),
                            },
                        );
                    }
                    if let (Some(instance_id), false) = (record.instance_id, sandbox) {
                        let cold = !super::deliverability::wrote_recently(&txn, &record.phone, at)?;
                        record.awaiting_reply = cold;
                        super::deliverability::bump_health(&txn, instance_id, at, |d| {
                            d.sent += 1;
                            d.unanswered += u32::from(cold);
                        })?;
                    }
                    if let Some(instance_id) = record.instance_id {
                        let mut instances = txn.open_table(tables::INSTANCES)?;
                        let instance: Option<Instance> = instances
                            .get(instance_id.0)?
                            .map(|b| from_json(b.value()))
                            .transpose()?;
                        if let Some(mut instance) = instance {
                            let day = crate::domain::sending::local_day(at).to_string();
                            instance.sent_today = if instance.sent_day == day {
                                instance.sent_today + 1
                            } else {
                                1
                            };
                            instance.sent_day = day;
                            instance.last_sent_at = Some(at);
                            instance.next_slot = next_slot;
                            instances.insert(instance_id.0, to_json(&instance)?.as_slice())?;
                        }
                    }
                }
                AttemptOutcome::Retry { at, reason } => {
                    let retry = Change::Retry { due_at: at, reason };
                    transition(&mut record, retry, now)
                        .expect("an outcome is recorded from any state");
                    queue.push(record.due_at, id, record.store_id)?;
                }
                AttemptOutcome::Hold { reason } => {
                    transition(&mut record, Change::Hold { reason }, now)
                        .expect("an outcome is recorded from any state");
                    queue.push(record.due_at, id, record.store_id)?;
                }
                AttemptOutcome::Fail { reason } => {
                    transition(&mut record, Change::Fail { reason }, now)
                        .expect("an outcome is recorded from any state");
                }
            }
            messages.put(&record)?;
            record
        };
        if record.status == MessageStatus::Sent
            && let Some(crate::domain::deliverability::ReplyRole::Invite { .. }) = record.reply_role
        {
            let sent_at = record.history.last().map_or(now, |c| c.at);
            super::ask_reply::start_timers(&txn, &record, sent_at)?;
        }
        txn.commit()?;
        Ok(record)
    }

    /// Ends a scheduled message at send time (expired, or no longer wanted).
    pub fn close_scheduled(
        &self,
        id: MessageId,
        status: MessageStatus,
        reason: &str,
        now: i64,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut messages = super::report_ledger::Ledger::open(&txn)?;
            let mut record: Message = match messages.get(id)? {
                Some(record) => record,
                None => return Err(DbError::NotFound),
            };
            let close = Change::Close {
                status,
                reason: reason.to_owned(),
            };
            if transition(&mut record, close, now).is_err() {
                return Ok(());
            }
            super::queue::Queue::open(&txn)?.pull(record.due_at, id, record.store_id)?;
            messages.put(&record)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Leases that ran out before `now` belong to a process that died mid-send: the message goes
    /// back to the queue once, flagged "maybe sent". Returns how many.
    pub fn requeue_expired_leases(&self, now: i64) -> Result<usize, DbError> {
        let txn = self.begin_write()?;
        let mut count = 0;
        {
            let mut leases = txn.open_table(tables::LEASES)?;
            let expired: Vec<(i64, u64)> = leases
                .range(..(now, 0))?
                .map(|row| row.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            let mut messages = super::report_ledger::Ledger::open(&txn)?;
            let mut queue = super::queue::Queue::open(&txn)?;
            for (lease_until, key) in expired {
                leases.remove((lease_until, key))?;
                let id = MessageId(key);
                let record: Option<Message> = messages.get(id)?;
                let Some(mut record) = record else { continue };
                // Already requeued once: do not risk a third copy.
                let change = if record.maybe_sent {
                    Change::GiveUp
                } else {
                    Change::Requeue
                };
                if transition(&mut record, change, now).is_err() {
                    continue;
                }
                if record.status == MessageStatus::Scheduled {
                    queue.push(record.due_at, id, record.store_id)?;
                }
                messages.put(&record)?;
                count += 1;
            }
        }
        txn.commit()?;
        Ok(count)
    }

    /// How many messages are scheduled (the outbox's depth), without reading them.
    pub fn outbox_len(&self) -> Result<u64, DbError> {
        use redb::ReadableTableMetadata;
        let read = self.begin_read()?;
        Ok(read.open_table(tables::OUTBOX)?.len()?)
    }

    /// Scheduled messages per store (stores with none are absent).
    pub fn outbox_depth_by_store(&self) -> Result<Vec<(StoreId, u64)>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::OUTBOX_DEPTH)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            out.push((StoreId(k.value()), v.value()));
        }
        Ok(out)
    }

    /// WhatsApp's receipts move a sent message forward, never back.
    pub fn apply_receipt(
        &self,
        id: MessageId,
        receipt: ReceiptStatus,
        at: i64,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut messages = super::report_ledger::Ledger::open(&txn)?;
            let mut record: Message = match messages.get(id)? {
                Some(record) => record,
                None => return Ok(()),
            };
            let change = match receipt {
                ReceiptStatus::Delivered => Change::Delivered,
                ReceiptStatus::Read => Change::Read,
            };
            if transition(&mut record, change, at).is_err() {
                return Ok(());
            }
            if let Some(instance_id) = record.instance_id.filter(|_| !record.test) {
                super::deliverability::bump_health(&txn, instance_id, at, |d| match receipt {
                    ReceiptStatus::Delivered => d.delivered += 1,
                    ReceiptStatus::Read => d.read += 1,
                })?;
            }
            messages.put(&record)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// A server refusal after the send call returned: the message failed.
    pub fn apply_nack(&self, id: MessageId, reason: &str, at: i64) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut messages = super::report_ledger::Ledger::open(&txn)?;
            let mut record: Message = match messages.get(id)? {
                Some(record) => record,
                None => return Ok(()),
            };
            let refused = Change::Refused {
                detail: reason.to_owned(),
            };
            if transition(&mut record, refused, at).is_err() {
                return Ok(());
            }
            if let Some(instance_id) = record.instance_id.filter(|_| !record.test) {
                let code = crate::domain::deliverability::nack_code(reason);
                super::deliverability::bump_health(&txn, instance_id, at, |d| {
                    *d.nacks.entry(code).or_default() += 1;
                })?;
            }
            messages.put(&record)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Why a scheduled message should no longer go out, checked just before sending.
    pub fn unwanted_reason(&self, message: &Message) -> Result<Option<&'static str>, DbError> {
        let read = self.begin_read()?;
        let store: Option<crate::domain::Store> = read
            .open_table(tables::STORES)?
            .get(message.store_id.0)?
            .map(|b| from_json(b.value()))
            .transpose()?;
        let Some(store) = store else {
            return Ok(Some(Reason::StoreDeleted.code()));
        };
        if !store.enabled {
            return Ok(Some(Reason::StoreDisabled.code()));
        }
        if read
            .open_table(tables::OPT_OUTS)?
            .get(message.phone.as_str())?
            .is_some()
        {
            return Ok(Some(Reason::OptedOut.code()));
        }
        let hash = super::lgpd::phone_hash_str(&message.phone);
        if read
            .open_table(tables::ERASED_BUYERS)?
            .get(hash.as_slice())?
            .is_some()
        {
            return Ok(Some(Reason::BuyerErased.code()));
        }
        if is_recovery(message.kind)
            && let Some(order_id) = message.order_id.as_deref()
            && read
                .open_table(tables::CLOSED_ORDERS)?
                .get((message.store_id.0, order_id))?
                .is_some()
        {
            return Ok(Some(Reason::OrderClosed.code()));
        }
        let template: Option<crate::domain::template::MessageTemplate> = read
            .open_table(tables::TEMPLATES)?
            .get((message.store_id.0, message.kind.as_str()))?
            .map(|b| from_json(b.value()))
            .transpose()?;
        let enabled = template.map_or_else(
            || crate::render::default_template_for(message.kind, store.platform).enabled,
            |t| t.enabled,
        );
        if !enabled {
            return Ok(Some(Reason::TemplateOff.code()));
        }
        Ok(None)
    }
}
