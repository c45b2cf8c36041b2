//! Planning inside the intake transaction: a recognised event becomes messages (rendered once,
//! due times computed), and events that close an order cancel its pending reminders. The rules
//! themselves are pure (`domain::planning`, `render`); this file applies them to the tables.

use redb::{MultimapTable, ReadableMultimapTable, ReadableTable, Table, WriteTransaction};

use super::{DbError, from_json, tables};
use crate::domain::MessageSettings;
use crate::domain::Store;
use crate::domain::message::cancel_reason;
use crate::domain::planning::{counts_toward_cap, due_time, ends_recovery, is_recovery};
use crate::domain::template::MessageTemplate;
use crate::domain::{Event, EventKind, MessageStatus};
use crate::domain::{Message, StatusChange};

/// A phone+product purchase closes reminders of that buyer for this long (days).
const PURCHASE_MEMORY_DAYS: i64 = 30;

/// Product names, sorted and joined: the same purchase across platforms and order ids.
pub fn product_key(event: &Event) -> String {
    let mut names: Vec<String> = event
        .products
        .iter()
        .map(|p| p.name.trim().to_lowercase())
        .collect();
    names.sort();
    names.join("|")
}

/// The tables planning touches, opened once per transaction.
pub(super) struct Planner<'txn> {
    txn: &'txn WriteTransaction,
    ledger: super::report_ledger::Ledger<'txn>,
    queue: super::queue::Queue<'txn>,
    by_order: MultimapTable<'txn, (u64, &'static str), u64>,
    by_phone: MultimapTable<'txn, &'static str, u64>,
    templates: Table<'txn, (u64, &'static str), &'static [u8]>,
    closed_orders: Table<'txn, (u64, &'static str), i64>,
    closed_purchases: Table<'txn, (&'static str, &'static str), (u64, i64)>,
    opt_outs: Table<'txn, &'static str, &'static [u8]>,
    sequences: Table<'txn, &'static str, u64>,
    next_id: u64,
}

impl<'txn> Planner<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Planner<'txn>, DbError> {
        let sequences = txn.open_table(tables::SEQUENCES)?;
        let next_id = sequences.get("messages")?.map(|v| v.value()).unwrap_or(0);
        Ok(Planner {
            txn,
            ledger: super::report_ledger::Ledger::open(txn)?,
            queue: super::queue::Queue::open(txn)?,
            by_order: txn.open_multimap_table(tables::MESSAGES_BY_ORDER)?,
            by_phone: txn.open_multimap_table(tables::MESSAGES_BY_PHONE)?,
            templates: txn.open_table(tables::TEMPLATES)?,
            closed_orders: txn.open_table(tables::CLOSED_ORDERS)?,
            closed_purchases: txn.open_table(tables::CLOSED_PURCHASES)?,
            opt_outs: txn.open_table(tables::OPT_OUTS)?,
            sequences,
            next_id,
        })
    }

    /// Writes the message id sequence back; call once before the transaction commits.
    pub(super) fn finish(mut self) -> Result<(), DbError> {
        self.sequences.insert("messages", self.next_id)?;
        Ok(())
    }

    fn load(&self, id: u64) -> Result<Option<Message>, DbError> {
        self.ledger.get(id)
    }

    fn ids_for_order(&self, store_id: u64, order_id: &str) -> Result<Vec<u64>, DbError> {
        Ok(self
            .by_order
            .get((store_id, order_id))?
            .map(|v| v.map(|v| v.value()))
            .collect::<Result<_, _>>()?)
    }

    fn ids_for_phone(&self, phone: &str) -> Result<Vec<u64>, DbError> {
        Ok(self
            .by_phone
            .get(phone)?
            .map(|v| v.map(|v| v.value()))
            .collect::<Result<_, _>>()?)
    }

    fn cancel(&mut self, mut record: Message, reason: &str, now: i64) -> Result<(), DbError> {
        if record.status == MessageStatus::Scheduled {
            self.queue.pull(record.due_at, record.id, record.store_id)?;
        }
        record.status = MessageStatus::Canceled;
        record.history.push(StatusChange {
            at: now,
            status: MessageStatus::Canceled,
            reason: Some(reason.to_owned()),
        });
        self.ledger.put(&record)
    }

    /// Credits a payment of the order to the recovery message that preceded it (Relatórios):
    /// the order's messages, and the buyer's unnumbered ones for the same purchase in the store.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn credit(
        &mut self,
        store_id: u64,
        order_id: &str,
        phone: Option<&str>,
        product_key: &str,
        amount_cents: Option<i64>,
        settings: &MessageSettings,
        now: i64,
    ) -> Result<(), DbError> {
        let mut candidates = self.ids_for_order(store_id, order_id)?;
        if let Some(phone) = phone
            && !product_key.is_empty()
        {
            for id in self.ids_for_phone(phone)? {
                if self.load(id)?.is_some_and(|m| {
                    m.store_id == store_id && m.order_id.is_none() && m.product_key == product_key
                }) {
                    candidates.push(id);
                }
            }
        }
        let payment = super::report_ledger::Payment {
            store_id,
            order_id,
            paid_at: now,
            amount_cents,
            window_s: i64::from(settings.attribution_days) * 86_400,
        };
        super::report_ledger::credit_payment(self.txn, &mut self.ledger, &payment, &candidates)?;
        Ok(())
    }

    /// The happy path: the order is closed; its pending reminders (and, without an order id or
    /// across stores, the buyer's reminders for the same products) are canceled.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn close_order(
        &mut self,
        store_id: u64,
        order_id: Option<&str>,
        phone: Option<&str>,
        product_key: &str,
        cross_store: bool,
        reason: &str,
        now: i64,
    ) -> Result<usize, DbError> {
        let mut candidates = Vec::new();
        if let Some(order_id) = order_id {
            self.closed_orders.insert((store_id, order_id), now)?;
            candidates.extend(self.ids_for_order(store_id, order_id)?);
        }
        if let Some(phone) = phone
            && !product_key.is_empty()
        {
            self.closed_purchases
                .insert((phone, product_key), (store_id, now))?;
            for id in self.ids_for_phone(phone)? {
                let Some(m) = self.load(id)? else { continue };
                let same_purchase = m.product_key == product_key;
                let same_store_unnumbered =
                    m.store_id == store_id && (m.order_id.is_none() || order_id.is_none());
                let other_store = m.store_id != store_id && cross_store;
                if same_purchase && (same_store_unnumbered || other_store) {
                    candidates.push(id);
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut canceled = 0;
        for id in candidates {
            let Some(record) = self.load(id)? else {
                continue;
            };
            if is_recovery(record.kind) && record.status.is_pending() {
                self.cancel(record, reason, now)?;
                canceled += 1;
            }
        }
        Ok(canceled)
    }

    /// True when a recovery event comes for an order (or purchase) already closed.
    fn already_closed(
        &self,
        store_id: u64,
        event: &Event,
        phone: &str,
        key: &str,
        settings: &MessageSettings,
        now: i64,
    ) -> Result<bool, DbError> {
        if let Some(order_id) = event.order_id.as_deref()
            && self.closed_orders.get((store_id, order_id))?.is_some()
        {
            return Ok(true);
        }
        if key.is_empty() {
            return Ok(false);
        }
        Ok(
            match self.closed_purchases.get((phone, key))?.map(|v| v.value()) {
                Some((closed_store, at)) if now - at < PURCHASE_MEMORY_DAYS * 86_400 => {
                    (closed_store == store_id && event.order_id.is_none())
                        || (closed_store != store_id && settings.cross_store_happy_path)
                }
                _ => false,
            },
        )
    }

    /// Reminders this buyer already has due within the cap window around `due`.
    fn capped_count(&self, phone: &str, due: i64, window: i64) -> Result<u32, DbError> {
        let mut count = 0;
        for id in self.ids_for_phone(phone)? {
            let Some(m) = self.load(id)? else { continue };
            if m.part == 0
                && counts_toward_cap(m.kind)
                && m.status.is_live()
                && !m.test
                && (m.due_at - due).abs() < window
            {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Plans the messages of one recognised event. Returns how many were written.
    pub(super) fn plan(
        &mut self,
        store: &Store,
        event_id: u64,
        event: &Event,
        settings: &MessageSettings,
        now: i64,
    ) -> Result<usize, DbError> {
        let (Some(kind), Some(phone)) = (event.kind, event.customer.phone.as_ref()) else {
            return Ok(0);
        };
        let phone = phone.as_str();
        let key = product_key(event);
        if ends_recovery(kind) {
            self.close_order(
                store.id,
                event.order_id.as_deref(),
                Some(phone),
                &key,
                settings.cross_store_happy_path,
                cancel_reason::ORDER_CLOSED,
                now,
            )?;
        }
        if let Some(order_id) = event.order_id.as_deref() {
            match kind {
                EventKind::OrderPaid => self.credit(
                    store.id,
                    order_id,
                    Some(phone),
                    &key,
                    event.total_cents,
                    settings,
                    now,
                )?,
                EventKind::OrderRefunded | EventKind::OrderChargeback => {
                    super::report_ledger::mark_refunded(
                        self.txn,
                        &mut self.ledger,
                        store.id,
                        order_id,
                        now,
                    )?
                }
                _ => {}
            }
        }
        if !store.enabled {
            return Ok(0);
        }
        let template: MessageTemplate = match self.templates.get((store.id, kind.as_str()))? {
            Some(bytes) => from_json(bytes.value())?,
            None => crate::render::default_template(kind),
        };
        if !template.enabled {
            return Ok(0);
        }
        // The same confirmation twice for one order (two platforms' events, a re-sent paid): once.
        if !is_recovery(kind)
            && let Some(order_id) = event.order_id.as_deref()
        {
            for id in self.ids_for_order(store.id, order_id)? {
                if self
                    .load(id)?
                    .is_some_and(|m| m.kind == kind && m.status.is_live())
                {
                    return Ok(0);
                }
            }
        }
        let closed = is_recovery(kind)
            && self.already_closed(store.id, event, phone, &key, settings, now)?;
        let opted_out = self.opt_outs.get(phone)?.is_some();
        let test = store.test_mode || settings.test_numbers.iter().any(|t| t == phone);
        let window = i64::from(settings.cap_window_hours) * 3600;
        let mut written = 0;
        for (step_index, step) in template.steps.iter().enumerate() {
            let Some(due) = due_time(
                now,
                kind,
                step_index,
                step.delay,
                event.payment.due_at.as_deref(),
                settings.quiet_hours,
            ) else {
                continue;
            };
            let capped = counts_toward_cap(kind)
                && !test
                && self.capped_count(phone, due, window)? >= settings.buyer_cap;
            let mut part_index = 0;
            for part in &step.parts {
                let (text, failure) = match crate::render::render(part, event, &store.name) {
                    Ok(text) if text.is_empty() => continue,
                    Ok(text) => (text, None),
                    Err(e) => (String::new(), Some(format!("render_error: {e}"))),
                };
                let (status, reason) = if let Some(f) = failure {
                    (MessageStatus::Failed, Some(f))
                } else if closed {
                    (
                        MessageStatus::Canceled,
                        Some(cancel_reason::ORDER_CLOSED.to_owned()),
                    )
                } else if opted_out {
                    (
                        MessageStatus::Canceled,
                        Some(cancel_reason::OPTED_OUT.to_owned()),
                    )
                } else if capped {
                    (
                        MessageStatus::Canceled,
                        Some(cancel_reason::BUYER_CAP.to_owned()),
                    )
                } else {
                    (MessageStatus::Scheduled, None)
                };
                self.next_id += 1;
                let record = Message {
                    id: self.next_id,
                    store_id: store.id,
                    event_id,
                    kind,
                    step: step_index as u32,
                    part: part_index,
                    order_id: event.order_id.clone(),
                    phone: phone.to_owned(),
                    buyer_name: event.customer.name.clone(),
                    product_key: key.clone(),
                    text,
                    // Parts of one step keep their order: a few seconds apart.
                    due_at: due + i64::from(part_index) * 5,
                    status,
                    history: vec![StatusChange {
                        at: now,
                        status,
                        reason,
                    }],
                    test,
                    created_at: now,
                    attempts: 0,
                    maybe_sent: false,
                    instance_id: None,
                };
                self.ledger.put(&record)?;
                if status == MessageStatus::Scheduled {
                    self.queue.push(record.due_at, record.id, record.store_id)?;
                }
                if let Some(order_id) = event.order_id.as_deref() {
                    self.by_order.insert((store.id, order_id), record.id)?;
                }
                self.by_phone.insert(phone, record.id)?;
                part_index += 1;
                written += 1;
            }
        }
        Ok(written)
    }
}
