//! An attendant's reply from the console: the instance's daily send taken before the send (in
//! the transaction that checks the limit, so two replies at once cannot both take the last
//! one) and given back when the channel refused it; the reply kept as a line of the buyer's
//! conversation with who sent it; and the test replies the caixa de teste shows.

use redb::ReadableTable;

use super::conversations::ConversationEntry;
use super::{Db, DbError, from_json, next_id, tables, to_json};
use crate::domain::reply::within_limit;
use crate::domain::sending::local_day;
use crate::domain::{Instance, InstanceId, StoreId};

/// An attendant's reply as it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttendantReply<'a> {
    /// The instance it went (or tried to go) out through; none for the caixa de teste.
    pub instance_id: Option<InstanceId>,
    pub store_id: StoreId,
    pub buyer: &'a str,
    pub text: &'a str,
    /// The user's name.
    pub by: &'a str,
    pub at: i64,
    pub test: bool,
    /// Why the channel refused it; `None` when it went out.
    pub error: Option<String>,
}

impl Db {
    /// Takes one of the instance's sends for `now`'s Brasília day, when its daily limit allows
    /// (`false`: the limit is reached, nothing changed). Pacing is not touched: a reply is not
    /// in the queue.
    pub fn take_daily_send(&self, id: InstanceId, now: i64) -> Result<bool, DbError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(tables::INSTANCES)?;
            let mut instance: Instance = match table.get(id.0)? {
                Some(bytes) => from_json(bytes.value())?,
                None => return Err(DbError::NotFound),
            };
            if !within_limit(&instance, now) {
                return Ok(false);
            }
            let day = local_day(now).to_string();
            instance.sent_today = instance.sent_on(now) + 1;
            instance.sent_day = day;
            table.insert(id.0, to_json(&instance)?.as_slice())?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// Gives back a send taken at `taken_at` that did not go out (same Brasília day only).
    pub fn give_back_daily_send(&self, id: InstanceId, taken_at: i64) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(tables::INSTANCES)?;
            let mut instance: Instance = match table.get(id.0)? {
                Some(bytes) => from_json(bytes.value())?,
                None => return Ok(()),
            };
            if instance.sent_day == local_day(taken_at).to_string() {
                instance.sent_today = instance.sent_today.saturating_sub(1);
                table.insert(id.0, to_json(&instance)?.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Keeps an attendant's reply in the buyer's conversation.
    pub fn record_attendant_reply(
        &self,
        reply: &NewAttendantReply<'_>,
    ) -> Result<ConversationEntry, DbError> {
        let txn = self.begin_write()?;
        let record = ConversationEntry {
            id: next_id(&txn, "conversation")?,
            instance_id: reply.instance_id,
            buyer: reply.buyer.to_owned(),
            kind: super::ConversationKind::AttendantReply,
            text: reply.text.to_owned(),
            at: reply.at,
            opt_out: false,
            error: reply.error.clone(),
            by: Some(reply.by.to_owned()),
            store_id: Some(reply.store_id),
            test: reply.test,
        };
        txn.open_table(tables::CONVERSATIONS)?
            .insert((reply.buyer, record.id), to_json(&record)?.as_slice())?;
        // A reply that went to the buyer is part of the conversation other systems follow.
        if record.error.is_none() && !record.test {
            super::outbound_report::report_reply(&txn, &record, "attendant")?;
        }
        txn.commit()?;
        Ok(record)
    }

    /// Every attendant's reply that went to the caixa de teste, the latest `limit` by time.
    /// Conversations are kept by buyer, so this reads them all: only the caixa de teste asks.
    pub fn test_replies(&self, limit: usize) -> Result<Vec<ConversationEntry>, DbError> {
        /// Enough of a line to skip the others without reading their text.
        #[derive(serde::Deserialize)]
        struct Probe {
            #[serde(default)]
            test: bool,
        }
        let read = self.begin_read()?;
        let table = read.open_table(tables::CONVERSATIONS)?;
        let mut out: Vec<ConversationEntry> = Vec::new();
        for row in table.iter()? {
            let (_, value) = row?;
            if from_json::<Probe>(value.value())?.test {
                out.push(from_json(value.value())?);
            }
        }
        out.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
        out.truncate(limit);
        Ok(out)
    }
}
