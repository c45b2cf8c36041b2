//! LGPD: forgetting a buyer ("Apagar dados do comprador"), in one write transaction, everywhere
//! the buyer appears: events (reading and raw body), messages (phone, name, text, order id; the
//! pending ones canceled first), their indexes, closed orders and purchases, credited recoveries
//! (kept under a pseudonymous key: the counts stay), the opt-out list, the conversation (under
//! the phone and under any WhatsApp address carrying it), auto-reply times, the buyer remembered
//! for their orders (order memory), and the WhatsApp
//! library's per-contact state keyed by the number. What stays is the hash of the phone in
//! `ERASED_BUYERS` (so nothing is sent to them again) and counts that name no one. The rules of
//! what a record keeps are `domain::erasure`'s.
//!
//! Dedup keys stay: they are the platform's delivery id or a hash, and keeping them stops a
//! platform's retry of an old delivery from bringing the erased data back.

use std::collections::BTreeSet;

use redb::{ReadableMultimapTable, ReadableTable, WriteTransaction};
use serde::Serialize;

use super::lgpd::{belongs_to, phone_hash_str};
use super::{Db, DbError, EventRecord, from_json, next_id, tables, to_json};
use crate::domain::erasure::{erase_event, erase_message, pseudonym};
use crate::domain::report::Recovery;
use crate::domain::{Change, Message, Phone, Reason};

/// What `forget_buyer` erased.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Forgotten {
    /// Events whose reading and raw body were erased (the event stays, marked erased).
    pub events: u64,
    pub raw_bodies: u64,
    /// Messages stripped of the buyer.
    pub messages: u64,
    /// Of those, the ones still waiting to go out: canceled.
    pub canceled: u64,
    /// Conversation lines (replies and answers) deleted.
    pub conversation_lines: u64,
}

impl Db {
    /// Erases the buyer with this phone everywhere (see the module) and records the hash of
    /// their phone so senders refuse them. Store and report counters keep their totals.
    pub fn forget_buyer(&self, phone: &Phone, now: i64) -> Result<Forgotten, DbError> {
        let txn = self.begin_write()?;
        let mut done = Forgotten::default();
        // Orders the buyer's events and messages name, per store.
        let mut orders: BTreeSet<(u64, String)> = BTreeSet::new();
        forget_events(&txn, phone, now, &mut done, &mut orders)?;
        let address = pseudonym(next_id(&txn, "erased_buyers")?);
        forget_messages(&txn, phone.as_str(), &address, now, &mut done, &mut orders)?;
        forget_orders(&txn, &orders, &address)?;
        {
            let mut purchases = txn.open_table(tables::CLOSED_PURCHASES)?;
            let keys: Vec<String> = purchases
                .iter()?
                .filter_map(|row| match row {
                    Ok((k, _)) if k.value().0 == phone.as_str() => Some(Ok(k.value().1.to_owned())),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()?;
            for key in keys {
                purchases.remove((phone.as_str(), key.as_str()))?;
            }
            txn.open_table(tables::OPT_OUTS)?.remove(phone.as_str())?;
            txn.open_table(tables::ON_WHATSAPP)?
                .retain(|(number, _), _| number != phone.as_str())?;
        }
        super::order_memory::forget_phone(&txn, phone.as_str())?;
        for address in conversation_addresses(&txn, phone)? {
            done.conversation_lines += Db::forget_conversation(&txn, &address)?;
        }
        super::wa_state::forget_keys_containing(&txn, national(phone).as_bytes())?;
        txn.open_table(tables::ERASED_BUYERS)?
            .insert(phone_hash_str(phone.as_str()).as_slice(), now)?;
        // Last: the cancellations above queued deliveries naming the buyer too.
        super::outbound_retention::forget_deliveries(&txn, phone.as_str())?;
        txn.commit()?;
        Ok(done)
    }
}

/// The national number, as platforms and WhatsApp addresses carry it (`11987654321`).
pub(super) fn national(phone: &Phone) -> &str {
    phone.digits().strip_prefix("55").unwrap_or(phone.digits())
}

fn forget_events(
    txn: &WriteTransaction,
    phone: &Phone,
    now: i64,
    done: &mut Forgotten,
    orders: &mut BTreeSet<(u64, String)>,
) -> Result<(), DbError> {
    let mut events = txn.open_table(tables::EVENTS)?;
    let mut raws = txn.open_table(tables::RAW_BODIES)?;
    let mut doomed = Vec::new();
    for row in events.iter()? {
        let record: EventRecord = from_json(row?.1.value())?;
        let raw = raws.get(record.raw_id)?;
        if record.erased_at.is_none() && belongs_to(&record, raw.as_ref().map(|r| r.value()), phone)
        {
            doomed.push(record);
        }
    }
    for mut record in doomed {
        if let Some(order_id) = record.event.as_ref().and_then(|e| e.order_id.clone()) {
            orders.insert((record.store_id.0, order_id));
        }
        record.event = record.event.as_ref().map(erase_event);
        if let Some(reason) = &mut record.reason {
            // The detail quotes what was read ("phone 11 9… is not valid"); the code stays.
            reason.detail.clear();
        }
        record.erased_at = Some(now);
        events.insert(record.id.0, to_json(&record)?.as_slice())?;
        done.events += 1;
        if raws.remove(record.raw_id)?.is_some() {
            done.raw_bodies += 1;
        }
    }
    Ok(())
}

fn forget_messages(
    txn: &WriteTransaction,
    e164: &str,
    address: &str,
    now: i64,
    done: &mut Forgotten,
    orders: &mut BTreeSet<(u64, String)>,
) -> Result<(), DbError> {
    // A full scan rather than the phone index: forgetting is rare and must miss nothing.
    let found: Vec<Message> = {
        let table = txn.open_table(tables::MESSAGES)?;
        let mut found = Vec::new();
        for row in table.iter()? {
            let record: Message = from_json(row?.1.value())?;
            if record.phone == e164 {
                found.push(record);
            }
        }
        found
    };
    let mut erased = Vec::with_capacity(found.len());
    for mut record in found {
        if record.status.is_pending() {
            let cancel = Change::Cancel(Reason::BuyerErased.code().to_owned());
            if super::messages::change_status(txn, &mut record, cancel, now)? {
                done.canceled += 1;
            }
        }
        if let Some(order_id) = record.order_id.clone() {
            txn.open_multimap_table(tables::MESSAGES_BY_ORDER)?
                .remove((record.store_id.0, order_id.as_str()), record.id.0)?;
            orders.insert((record.store_id.0, order_id));
        }
        erase_message(&mut record, address);
        erased.push(record);
    }
    let mut ledger = super::report_ledger::Ledger::open(txn)?;
    for record in &erased {
        ledger.put(record)?;
        done.messages += 1;
    }
    drop(ledger);
    txn.open_multimap_table(tables::MESSAGES_BY_PHONE)?
        .remove_all(e164)?;
    // A boleto PDF names its buyer: the files their messages carried go too.
    super::media::forget(txn, erased.iter().map(|m| m.id))?;
    Ok(())
}

/// Closed orders go (only the erased buyer's messages looked them up); credited recoveries
/// stay, under a key that no longer carries the order id, so the reports keep their figures.
fn forget_orders(
    txn: &WriteTransaction,
    orders: &BTreeSet<(u64, String)>,
    address: &str,
) -> Result<(), DbError> {
    let mut closed = txn.open_table(tables::CLOSED_ORDERS)?;
    let mut recovered = txn.open_table(tables::RECOVERED_ORDERS)?;
    // Other buyers' messages on the same order (a shared order id) keep the order closed.
    let by_order = txn.open_multimap_table(tables::MESSAGES_BY_ORDER)?;
    for (store_id, order_id) in orders {
        let key = (*store_id, order_id.as_str());
        if by_order.get(key)?.next().is_none() {
            closed.remove(key)?;
        }
        let record: Option<Recovery> = recovered
            .remove(key)?
            .map(|b| from_json(b.value()))
            .transpose()?;
        if let Some(mut record) = record {
            record.order_id = format!("{address}:{}", record.message_id.0);
            recovered.insert(
                (*store_id, record.order_id.as_str()),
                to_json(&record)?.as_slice(),
            )?;
        }
    }
    Ok(())
}

/// The addresses the buyer's conversation may be kept under: the E.164 phone, and any WhatsApp
/// address the channel could not map to a phone that carries the number (`55…@s.whatsapp.net`).
fn conversation_addresses(txn: &WriteTransaction, phone: &Phone) -> Result<Vec<String>, DbError> {
    let digits = national(phone);
    let table = txn.open_table(tables::CONVERSATIONS)?;
    let mut out = vec![phone.as_str().to_owned()];
    for row in table.iter()? {
        let (key, _) = row?;
        let buyer = key.value().0;
        if buyer.contains(digits) && !out.iter().any(|a| a == buyer) {
            out.push(buyer.to_owned());
        }
    }
    Ok(out)
}
