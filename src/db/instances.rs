//! Instances (instâncias): one WhatsApp number each, with its sending rules (pacing, daily
//! limit, quiet hours, typing) and today's counters, kept beside the settings so a restart keeps
//! counting where it was.

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use super::{Db, DbError, from_json, next_id, tables, to_json};
use crate::domain::planning::QuietHours;
use crate::domain::sending::Pacing;

/// How an instance reaches buyers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceMode {
    /// Everything "sent" lands in the console's sandbox inbox; nothing reaches WhatsApp.
    Sandbox,
    /// The merchant's own number, paired by QR code.
    Whatsapp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub id: u64,
    pub name: String,
    pub mode: InstanceMode,
    pub pacing: Pacing,
    /// Sends per Brasília day; 0 means no limit.
    pub daily_limit: u32,
    pub quiet_hours: QuietHours,
    /// Seconds of "digitando…" before each text.
    pub typing_seconds: u8,
    pub created_at: i64,
    /// The Brasília day `sent_today` counts (YYYY-MM-DD).
    #[serde(default)]
    pub sent_day: String,
    #[serde(default)]
    pub sent_today: u32,
    #[serde(default)]
    pub last_sent_at: Option<i64>,
    /// The earliest next send (pacing with jitter, decided at the last send).
    #[serde(default)]
    pub next_slot: i64,
    /// One text answered to a buyer who writes to this number (at most once a day per buyer).
    #[serde(default)]
    pub auto_reply: AutoReply,
}

/// An instance's optional automatic answer to buyers' replies. Not a chatbot: one text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoReply {
    pub enabled: bool,
    pub text: String,
}

impl AutoReply {
    /// The text to answer with, when the auto-reply is on and says something.
    pub fn active_text(&self) -> Option<&str> {
        let text = self.text.trim();
        (self.enabled && !text.is_empty()).then_some(text)
    }
}

impl InstanceRecord {
    /// A new instance with the default rules: 30 s ±30%, 1,000 a day, quiet 21:00–08:00, 3 s typing.
    pub fn new(name: &str, mode: InstanceMode, now: i64) -> InstanceRecord {
        InstanceRecord {
            id: 0,
            name: name.to_owned(),
            mode,
            pacing: Pacing::default(),
            daily_limit: 1000,
            quiet_hours: QuietHours::default(),
            typing_seconds: 3,
            created_at: now,
            sent_day: String::new(),
            sent_today: 0,
            last_sent_at: None,
            next_slot: 0,
            auto_reply: AutoReply::default(),
        }
    }

    /// Sends counted for the Brasília day of `now` (the counter rolls over at local midnight).
    pub fn sent_on(&self, now: i64) -> u32 {
        if self.sent_day == crate::domain::sending::local_day(now).to_string() {
            self.sent_today
        } else {
            0
        }
    }

    pub fn daily_limit_reached(&self, now: i64) -> bool {
        self.daily_limit > 0 && self.sent_on(now) >= self.daily_limit
    }
}

impl Db {
    pub fn create_instance(&self, mut record: InstanceRecord) -> Result<InstanceRecord, DbError> {
        let txn = self.redb().begin_write()?;
        record.id = next_id(&txn, "instances")?;
        txn.open_table(tables::INSTANCES)?
            .insert(record.id, to_json(&record)?.as_slice())?;
        txn.commit()?;
        Ok(record)
    }

    pub fn list_instances(&self) -> Result<Vec<InstanceRecord>, DbError> {
        let read = self.redb().begin_read()?;
        let table = read.open_table(tables::INSTANCES)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            out.push(from_json(row?.1.value())?);
        }
        Ok(out)
    }

    pub fn instance(&self, id: u64) -> Result<InstanceRecord, DbError> {
        let read = self.redb().begin_read()?;
        let table = read.open_table(tables::INSTANCES)?;
        let bytes = table.get(id)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    pub fn update_instance(
        &self,
        id: u64,
        change: impl FnOnce(&mut InstanceRecord),
    ) -> Result<InstanceRecord, DbError> {
        let txn = self.redb().begin_write()?;
        let record = {
            let mut table = txn.open_table(tables::INSTANCES)?;
            let mut record: InstanceRecord = match table.get(id)? {
                Some(bytes) => from_json(bytes.value())?,
                None => return Err(DbError::NotFound),
            };
            change(&mut record);
            record.id = id;
            table.insert(id, to_json(&record)?.as_slice())?;
            record
        };
        txn.commit()?;
        Ok(record)
    }

    /// Deletes an instance; its stores are unlinked (their messages wait for a new link) and its
    /// WhatsApp state (device keys, sessions) is wiped in the same transaction.
    pub fn delete_instance(&self, id: u64) -> Result<(), DbError> {
        let txn = self.redb().begin_write()?;
        {
            if txn.open_table(tables::INSTANCES)?.remove(id)?.is_none() {
                return Err(DbError::NotFound);
            }
            let mut stores = txn.open_table(tables::STORES)?;
            let linked: Vec<super::Store> = stores
                .iter()?
                .filter_map(|row| {
                    row.ok()
                        .and_then(|(_, v)| from_json::<super::Store>(v.value()).ok())
                })
                .filter(|s| s.instance_id == Some(id))
                .collect();
            for mut store in linked {
                store.instance_id = None;
                stores.insert(store.id, to_json(&store)?.as_slice())?;
            }
        }
        super::wa_state::wipe_in(&txn, id)?;
        txn.commit()?;
        self.forget_cached_stores();
        Ok(())
    }
}
