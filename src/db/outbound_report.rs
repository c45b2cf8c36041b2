//! What each change tells outbound webhooks: the `data` of a message's and an event's
//! deliveries, and the reports of replies and opt-outs, queued through `outbound::Emitter` in
//! the writer's transaction.

use redb::{ReadableTable, WriteTransaction};
use serde_json::{Value, json};

use super::outbound::Emitter;
use super::{DbError, from_json, tables};
use crate::domain::StoreId;
use crate::domain::outbound::OutboundEvent;

/// The `data` of `event.received`: the event as avisa read it.
pub(super) fn event_data(e: &super::EventRecord) -> Value {
    json!({
        "event_id": e.id,
        "store_id": e.store_id,
        "platform": e.platform,
        "status": e.status,
        "reason": e.reason,
        "kind": e.kind().map(|k| k.as_str().to_owned()),
        "received_at": jiff::Timestamp::from_second(e.received_at).map(|t| t.to_string()).ok(),
        "event": e.event,
    })
}

/// The stores linked to an instance: where a reply or a state change reaches.
pub(super) fn stores_of_instance(
    txn: &WriteTransaction,
    instance_id: crate::domain::InstanceId,
) -> Result<Vec<StoreId>, DbError> {
    let table = txn.open_table(tables::STORES)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let store: crate::domain::Store = from_json(row?.1.value())?;
        if store.instance_id == Some(instance_id) {
            out.push(store.id);
        }
    }
    Ok(out)
}

/// Queues `buyer.replied` for a conversation line: `from` is who wrote (`buyer`, or `attendant`
/// for a reply the merchant's team sent from the conversation page).
pub(super) fn report_reply(
    txn: &WriteTransaction,
    entry: &super::ConversationEntry,
    from: &str,
) -> Result<(), DbError> {
    let stores = match entry.instance_id {
        Some(instance) => stores_of_instance(txn, instance)?,
        // A reply kept for the caixa de teste with no instance speaks for its store alone.
        None => entry.store_id.into_iter().collect(),
    };
    let phone = entry.buyer.starts_with('+').then_some(entry.buyer.as_str());
    Emitter::new(txn).emit(
        OutboundEvent::BuyerReplied,
        &stores,
        phone,
        entry.at,
        || {
            json!({
                "instance_id": entry.instance_id,
                "store_ids": stores,
                "phone": entry.buyer,
                "from": from,
                "text": entry.text,
                "opt_out": entry.opt_out,
            })
        },
    )
}

/// Queues `buyer.opted_out` for the stores that have messages to the buyer (`messages`).
pub(super) fn report_opt_out(
    txn: &WriteTransaction,
    opt_out: &crate::domain::OptOut,
    messages: &[u64],
) -> Result<(), DbError> {
    let mut stores: Vec<StoreId> = {
        let table = txn.open_table(tables::MESSAGES)?;
        let mut out = Vec::new();
        for id in messages {
            if let Some(bytes) = table.get(*id)? {
                let m: crate::domain::Message = from_json(bytes.value())?;
                out.push(m.store_id);
            }
        }
        out
    };
    stores.sort();
    stores.dedup();
    let phone = Some(opt_out.phone.as_str());
    Emitter::new(txn).emit(
        OutboundEvent::BuyerOptedOut,
        &stores,
        phone,
        opt_out.added_at,
        || json!({ "phone": opt_out.phone, "source": opt_out.source, "store_ids": stores }),
    )
}

/// The `data` of a message's event: what a receiver needs to act on it.
pub(super) fn message_data(m: &crate::domain::Message) -> Value {
    json!({
        "message_id": m.id,
        "store_id": m.store_id,
        "event_id": m.event_id,
        "instance_id": m.instance_id,
        "kind": m.kind.as_str(),
        "step": m.step,
        "part": m.part,
        "status": m.status.as_str(),
        "reason": m.reason(),
        "phone": m.phone,
        "name": m.buyer_name,
        "order_id": m.order_id,
        "text": m.text,
        "due_at": jiff::Timestamp::from_second(m.due_at).map(|t| t.to_string()).ok(),
        "test": m.test,
    })
}
