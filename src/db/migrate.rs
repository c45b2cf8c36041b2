//! Schema versions: a fresh file gets the current layout; an older one is brought forward step by
//! step; a file written by a newer avisa is refused, because guessing its layout loses data.

use redb::{ReadableDatabase, WriteTransaction};

use super::{DbError, tables};

/// The layout this build writes. Bump it with a `migrate_from_N` step below.
pub const SCHEMA_VERSION: u64 = 18;

/// Brings the file to `SCHEMA_VERSION`, or refuses a newer one.
pub(super) fn run(db: &redb::Database) -> Result<u64, DbError> {
    let found = {
        let read = db.begin_read()?;
        match read.open_table(tables::META) {
            Ok(meta) => meta.get("schema_version")?.map(|v| v.value()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(found) = found
        && found > SCHEMA_VERSION
    {
        return Err(DbError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let txn = db.begin_write()?;
    let mut version = found.unwrap_or(0);
    while version < SCHEMA_VERSION {
        match version {
            0 => create_v1(&txn)?,
            1 => migrate_from_1(&txn)?,
            2 => migrate_from_2(&txn)?,
            3 => migrate_from_3(&txn)?,
            4 => migrate_from_4(&txn)?,
            5 => migrate_from_5(&txn)?,
            6 => migrate_from_6(&txn)?,
            7 => migrate_from_7(&txn)?,
            8 => migrate_from_8(&txn)?,
            9 => migrate_from_9(&txn)?,
            10 => migrate_from_10(&txn)?,
            11 => migrate_from_11(&txn)?,
            12 => migrate_from_12(&txn)?,
            13 => migrate_from_13(&txn)?,
            14 => migrate_from_14(&txn)?,
            15 => migrate_from_15(&txn)?,
            16 => migrate_from_16(&txn)?,
            17 => migrate_from_17(&txn)?,
            other => unreachable!("no migration step from schema {other}"),
        }
        version += 1;
    }
    txn.open_table(tables::META)?
        .insert("schema_version", version)?;
    txn.commit()?;
    Ok(version)
}

/// Schema 1: the foundation's tables, created empty so readers never meet a missing table.
fn create_v1(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::META)?;
    txn.open_table(tables::SEQUENCES)?;
    txn.open_table(tables::USERS)?;
    txn.open_table(tables::USERS_BY_EMAIL)?;
    txn.open_table(tables::SESSIONS)?;
    txn.open_table(tables::API_TOKENS)?;
    txn.open_table(tables::SETTINGS)?;
    Ok(())
}

/// Schema 2: stores, events, raw bodies, dedup keys and counters (ingestion).
fn migrate_from_1(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::STORES)?;
    txn.open_table(tables::STORE_TOKENS)?;
    txn.open_table(tables::EVENTS)?;
    txn.open_table(tables::RAW_BODIES)?;
    txn.open_table(tables::DEDUP)?;
    txn.open_table(tables::COUNTERS)?;
    Ok(())
}

/// Schema 3: messages, the outbox, their indexes, templates, closed orders and opt-outs.
fn migrate_from_2(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::MESSAGES)?;
    txn.open_table(tables::OUTBOX)?;
    txn.open_multimap_table(tables::MESSAGES_BY_ORDER)?;
    txn.open_multimap_table(tables::MESSAGES_BY_PHONE)?;
    txn.open_table(tables::TEMPLATES)?;
    txn.open_table(tables::CLOSED_ORDERS)?;
    txn.open_table(tables::CLOSED_PURCHASES)?;
    txn.open_table(tables::OPT_OUTS)?;
    Ok(())
}

/// Schema 4: the erased-buyers (LGPD opt-out) table.
fn migrate_from_3(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::ERASED_BUYERS)?;
    Ok(())
}

/// Schema 5: instances and send leases (the outbox).
fn migrate_from_4(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::INSTANCES)?;
    txn.open_table(tables::LEASES)?;
    Ok(())
}

/// Schema 6: the outbox depth per store, counted once from the outbox as it stands.
fn migrate_from_5(txn: &WriteTransaction) -> Result<(), DbError> {
    use redb::ReadableTable;
    let mut counts: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    {
        let outbox = txn.open_table(tables::OUTBOX)?;
        let messages = txn.open_table(tables::MESSAGES)?;
        for row in outbox.iter()? {
            let (_, id) = row?.0.value();
            if let Some(bytes) = messages.get(id)? {
                let record: crate::domain::Message = super::from_json(bytes.value())?;
                *counts.entry(record.store_id.0).or_default() += 1;
            }
        }
    }
    let mut depth = txn.open_table(tables::OUTBOX_DEPTH)?;
    for (store_id, n) in counts {
        depth.insert(store_id, n)?;
    }
    Ok(())
}

/// Schema 7: the WhatsApp library's per-instance state.
fn migrate_from_6(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::WA_STATE)?;
    Ok(())
}

/// Schema 8: buyers' replies and avisa's answers, handled reply ids, auto-reply times.
fn migrate_from_7(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::CONVERSATIONS)?;
    txn.open_table(tables::INCOMING_SEEN)?;
    txn.open_table(tables::AUTO_REPLIES)?;
    Ok(())
}

/// Schema 9: report counters, counted once from the messages and events already stored.
fn migrate_from_8(txn: &WriteTransaction) -> Result<(), DbError> {
    super::report_ledger::rebuild(txn)
}

/// Schema 10: every message by due time (Mensagens → Todas in "Previsto para" order), indexed
/// once from the messages already stored.
fn migrate_from_9(txn: &WriteTransaction) -> Result<(), DbError> {
    use redb::ReadableTable;
    let messages = txn.open_table(tables::MESSAGES)?;
    let mut by_due = txn.open_table(tables::MESSAGES_BY_DUE)?;
    for row in messages.iter()? {
        let row = row?;
        let record: crate::domain::Message = super::from_json(row.1.value())?;
        by_due.insert((record.due_at, row.0.value()), ())?;
    }
    Ok(())
}

/// Schema 11: deliverability — wire ids, persisted is-on-WhatsApp answers, health per day.
/// Messages already sent keep their `AVISA{id}` wire id (matched by prefix): nothing to rewrite.
fn migrate_from_10(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::WIRE_IDS)?;
    txn.open_table(tables::ON_WHATSAPP)?;
    txn.open_table(tables::HEALTH_DAYS)?;
    Ok(())
}

/// Schema 12: the stores' own mappings (merchant-made event names and `custom` platforms).
fn migrate_from_11(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::STORE_MAPPINGS)?;
    Ok(())
}

/// Schema 13: outbound webhooks' endpoints, deliveries, due index, per-endpoint log, sequence.
fn migrate_from_12(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::OUTBOUND_ENDPOINTS)?;
    txn.open_table(tables::OUTBOUND_DELIVERIES)?;
    txn.open_table(tables::OUTBOUND_DUE)?;
    txn.open_table(tables::OUTBOUND_LOG)?;
    txn.open_table(tables::OUTBOUND_META)?;
    Ok(())
}

/// Schema 14: order memory, the buyer of each order remembered from its events. Filled once from
/// the events already stored (oldest first, so the latest event naming a buyer wins), so a thin
/// event arriving after the upgrade finds the buyer of an order that began before it.
fn migrate_from_13(txn: &WriteTransaction) -> Result<(), DbError> {
    super::order_memory::rebuild(txn)
}

/// Schema 15: the merchant's custom event kinds. Nothing to rewrite: no stored event or message
/// has one yet.
fn migrate_from_14(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::CUSTOM_KINDS)?;
    Ok(())
}

/// Schema 16: media — the files media parts carried, by SHA-256, and each part's record.
fn migrate_from_15(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::MEDIA_BLOBS)?;
    txn.open_table(tables::MESSAGE_MEDIA)?;
    Ok(())
}

/// Schema 17: thin notifications filled in from the platform's API (issue 17): the stores' API
/// credentials and the queue of events waiting for their resource.
fn migrate_from_16(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::STORE_API_CREDENTIALS)?;
    txn.open_table(tables::ENRICH_JOBS)?;
    txn.open_table(tables::ENRICH_DUE)?;
    Ok(())
}

/// Schema 18: the dedup log (`db::dedup`); keys already in `DEDUP` stay there.
fn migrate_from_17(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(tables::DEDUP_LOG)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, DbOptions, MessageFilter};

    /// A file written before schema 10 (no due-time index) opens, gets the index built from its
    /// messages, and Mensagens → Todas reads every message latest "Previsto para" first.
    #[test]
    fn a_schema_9_file_opens_with_its_messages_indexed_by_due_time() {
        use crate::queue::simulate::{Input, simulate};
        let tmp = tempfile::tempdir().expect("tempdir");
        let boleto = |n: u32| {
            Input {
            name: format!("b{n}"),
            platform: crate::domain::Platform::Api,
            headers: Vec::new(),
            body: serde_json::json!({
                "kind": "boleto.generated", "event_id": format!("b{n}"),
                "order_id": format!("O{n}"),
                "customer": { "name": "Ana", "phone": format!("1198765432{n}") },
                "total_cents": 19700,
                "payment": { "boleto_url": "https://b.example/1",
                             "boleto_barcode": "34191.79001 01043.510047 91020.150008 5 84460000019700" }
            })
            .to_string()
            .into_bytes(),
        }
        };
        // 2025-11-18 12:00 in Brasília, then a second boleto an hour later.
        simulate(tmp.path(), &[boleto(1), boleto(2)], 1_763_478_000, 3600).expect("simulated");
        {
            let file = redb::Database::create(tmp.path().join(crate::db::DATA_FILE)).expect("open");
            let txn = file.begin_write().expect("write");
            txn.delete_table(tables::MESSAGES_BY_DUE).expect("drop");
            txn.open_table(tables::META)
                .expect("meta")
                .insert("schema_version", 9)
                .expect("version");
            txn.commit().expect("commit");
        }
        let db = Db::open(tmp.path(), &DbOptions::default()).expect("a schema 9 file opens");
        let by_id = db
            .list_messages(&MessageFilter {
                limit: 100,
                ..MessageFilter::default()
            })
            .expect("by id");
        assert!(by_id.len() >= 4, "both boletos planned reminders");
        let mut expected: Vec<_> = by_id.iter().map(|m| (m.due_at, m.id)).collect();
        expected.sort_unstable_by(|a, b| b.cmp(a));
        // Page by page, two at a time, following the cursor as the console does.
        let mut got = Vec::new();
        let mut filter = MessageFilter {
            by_due: true,
            limit: 2,
            ..MessageFilter::default()
        };
        loop {
            let page = db.list_messages(&filter).expect("by due");
            let Some(last) = page.last() else { break };
            filter.before_due = Some(last.due_at);
            filter.before_id = Some(last.id);
            got.extend(page.iter().map(|m| (m.due_at, m.id)));
        }
        assert_eq!(got, expected);
        assert_ne!(
            expected.iter().map(|(_, id)| *id).collect::<Vec<_>>(),
            by_id.iter().map(|m| m.id).collect::<Vec<_>>(),
            "the arrangement makes due order differ from arrival order"
        );
    }
}
