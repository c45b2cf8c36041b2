//! Planning inside the intake transaction: gathers the facts an event is planned on (the order's
//! and the buyer's messages, closed orders, opt-out, the store's template), asks
//! `domain::planning::plan` what to do, and applies the plan to the tables: cancels, credits,
//! new messages with their indexes. The rules are pure (`domain::planning`, `render`).

use redb::{MultimapTable, ReadableMultimapTable, ReadableTable, Table, WriteTransaction};

use super::{DbError, from_json, tables};
use crate::domain::planning::{self, Close, Credit, Facts, Order, Plan, Templates, product_key};
use crate::domain::template::MessageTemplate;
use crate::domain::{Change, Event, EventKind, Message, MessageSettings, MessageStatus, Platform};
use crate::domain::{EventId, MessageId, Reason, Store, StoreId, transition};

/// Planning's templates: the shipped defaults and the renderer of `render`.
struct Rendering;

impl Templates for Rendering {
    fn shipped(&self, kind: EventKind, platform: Platform) -> MessageTemplate {
        crate::render::default_template_for(kind, platform)
    }

    fn render(&self, part: &str, event: &Event, public_name: &str) -> Result<String, String> {
        crate::render::render(part, event, public_name).map_err(|e| e.to_string())
    }
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
            // Counters are summed over the transaction and written once in `finish`.
            ledger: super::report_ledger::Ledger::deferred(txn)?,
            queue: super::queue::Queue::deferred(txn)?,
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

    /// Writes the message id sequence and the summed counters back; call once before the
    /// transaction commits.
    pub(super) fn finish(mut self) -> Result<(), DbError> {
        self.sequences.insert("messages", self.next_id)?;
        self.ledger.flush()?;
        self.queue.flush()?;
        Ok(())
    }

    fn load(&self, id: MessageId) -> Result<Option<Message>, DbError> {
        self.ledger.get(id)
    }

    /// The messages an index lists, in id order (ids whose record is gone are skipped).
    fn load_all(&self, ids: Vec<u64>) -> Result<Vec<Message>, DbError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(m) = self.load(MessageId(id))? {
                out.push(m);
            }
        }
        Ok(out)
    }

    fn order_messages(
        &self,
        store_id: StoreId,
        order_id: Option<&str>,
    ) -> Result<Vec<Message>, DbError> {
        let Some(order_id) = order_id else {
            return Ok(Vec::new());
        };
        let ids = self
            .by_order
            .get((store_id.0, order_id))?
            .map(|v| v.map(|v| v.value()))
            .collect::<Result<_, _>>()?;
        self.load_all(ids)
    }

    fn phone_messages(&self, phone: &str) -> Result<Vec<Message>, DbError> {
        let ids = self
            .by_phone
            .get(phone)?
            .map(|v| v.map(|v| v.value()))
            .collect::<Result<_, _>>()?;
        self.load_all(ids)
    }

    /// Applies a close: the order and purchase are recorded closed, the reminders canceled.
    fn apply_close(
        &mut self,
        store_id: StoreId,
        close: &Close,
        now: i64,
    ) -> Result<usize, DbError> {
        if let Some(order_id) = close.order_id.as_deref() {
            self.closed_orders.insert((store_id.0, order_id), now)?;
        }
        if let Some((phone, key)) = &close.purchase {
            self.closed_purchases
                .insert((phone.as_str(), key.as_str()), (store_id.0, now))?;
        }
        let mut canceled = 0;
        for id in &close.cancel {
            let Some(mut record) = self.load(*id)? else {
                continue;
            };
            let due_at = record.due_at;
            let cancel = Change::Cancel(close.reason.code().to_owned());
            if let Ok(from) = transition(&mut record, cancel, now) {
                if from == MessageStatus::Scheduled {
                    self.queue.pull(due_at, record.id, record.store_id)?;
                }
                self.ledger.put(&record)?;
                canceled += 1;
            }
        }
        Ok(canceled)
    }

    /// Credits a payment of the order to the recovery message that preceded it (Relatórios).
    fn apply_credit(
        &mut self,
        store_id: StoreId,
        credit: &Credit,
        now: i64,
    ) -> Result<(), DbError> {
        let payment = super::report_ledger::Payment {
            store_id,
            order_id: &credit.order_id,
            paid_at: now,
            amount_cents: credit.amount_cents,
            window_s: credit.window_s,
        };
        super::report_ledger::credit_payment(
            self.txn,
            &mut self.ledger,
            &payment,
            &credit.candidates,
        )?;
        Ok(())
    }

    /// Dar baixa: the order closes as if the platform had sent `order.paid` (its reminders are
    /// canceled as `marked_paid`) and its payment is credited. Returns how many were canceled.
    pub(super) fn mark_paid(
        &mut self,
        store_id: StoreId,
        order_id: &str,
        settings: &MessageSettings,
        now: i64,
    ) -> Result<usize, DbError> {
        let order = Order {
            store_id,
            order_id: Some(order_id),
            phone: None,
            product_key: "",
        };
        let messages = self.order_messages(store_id, Some(order_id))?;
        let close = planning::close(&order, false, Reason::MarkedPaid, &messages, &[]);
        let canceled = self.apply_close(store_id, &close, now)?;
        let credit = Credit {
            order_id: order_id.to_owned(),
            amount_cents: None,
            window_s: i64::from(settings.attribution_days) * 86_400,
            candidates: planning::credit_candidates(&order, &messages, &[]),
        };
        self.apply_credit(store_id, &credit, now)?;
        Ok(canceled)
    }

    /// What planning `event` needs to know, read from the tables as they are now (earlier
    /// events of the same batch included).
    fn facts<'a>(
        &self,
        store: &'a Store,
        company_name: &'a str,
        settings: &'a MessageSettings,
        event_id: EventId,
        event: &Event,
    ) -> Result<Facts<'a>, DbError> {
        let phone = event.customer.phone.as_ref().map_or("", |p| p.as_str());
        let key = product_key(event);
        let order_id = event.order_id.as_deref();
        // A switched-off store plans no messages: its template is not read.
        let saved_template = match event.kind {
            Some(kind) if store.enabled => self
                .templates
                .get((store.id.0, kind.as_str()))?
                .map(|bytes| from_json(bytes.value()))
                .transpose()?,
            _ => None,
        };
        let order_closed = match order_id {
            Some(order_id) => self.closed_orders.get((store.id.0, order_id))?.is_some(),
            None => false,
        };
        Ok(Facts {
            event_id,
            store,
            public_name: store.buyer_facing_name(company_name),
            settings,
            saved_template,
            order_messages: self.order_messages(store.id, order_id)?,
            phone_messages: self.phone_messages(phone)?,
            order_closed,
            purchase_closed: self.closed_purchases.get((phone, key.as_str()))?.map(|v| {
                let (store, at) = v.value();
                (StoreId(store), at)
            }),
            opted_out: self.opt_outs.get(phone)?.is_some(),
            last_message_id: MessageId(self.next_id),
        })
    }

    /// Applies a plan: the close, the credit or refund, then the new messages and their
    /// indexes. Returns how many messages were written.
    fn apply(&mut self, store_id: StoreId, plan: Plan, now: i64) -> Result<usize, DbError> {
        if let Some(close) = &plan.close {
            self.apply_close(store_id, close, now)?;
        }
        if let Some(credit) = &plan.credit {
            self.apply_credit(store_id, credit, now)?;
        }
        if let Some(order_id) = &plan.refund {
            super::report_ledger::mark_refunded(
                self.txn,
                &mut self.ledger,
                store_id,
                order_id,
                now,
            )?;
        }
        let written = plan.create.len();
        for record in plan.create {
            self.next_id = self.next_id.max(record.id.0);
            self.ledger.put(&record)?;
            if record.status == MessageStatus::Scheduled {
                self.queue.push(record.due_at, record.id, record.store_id)?;
            }
            if let Some(order_id) = record.order_id.as_deref() {
                self.by_order
                    .insert((record.store_id.0, order_id), record.id.0)?;
            }
            self.by_phone.insert(record.phone.as_str(), record.id.0)?;
        }
        Ok(written)
    }

    /// Plans the messages of one recognised event. Returns how many were written.
    pub(super) fn plan(
        &mut self,
        store: &Store,
        event_id: EventId,
        event: &Event,
        settings: &MessageSettings,
        company_name: &str,
        now: i64,
    ) -> Result<usize, DbError> {
        if event.kind.is_none() || event.customer.phone.is_none() {
            return Ok(0);
        }
        let facts = self.facts(store, company_name, settings, event_id, event)?;
        let plan = planning::plan(event, &Rendering, &facts, now);
        self.apply(store.id, plan, now)
    }

    /// Plans an event received at `received` that is planned only now (re-processed after the
    /// merchant mapped it): steps too late are planned canceled (`domain::planning::plan_late`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn plan_late(
        &mut self,
        store: &Store,
        event_id: EventId,
        event: &Event,
        settings: &MessageSettings,
        company_name: &str,
        now: i64,
        received: i64,
    ) -> Result<usize, DbError> {
        if event.kind.is_none() || event.customer.phone.is_none() {
            return Ok(0);
        }
        let facts = self.facts(store, company_name, settings, event_id, event)?;
        let plan = planning::plan_late(event, &Rendering, &facts, now, received);
        self.apply(store.id, plan, now)
    }
}
