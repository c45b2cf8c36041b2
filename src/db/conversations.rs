//! Buyers' replies and avisa's answers to them (opt-out confirmations, auto-replies), kept by
//! buyer so a buyer's history shows them; plus what makes handling a reply safe to repeat: the
//! ids of replies already handled and when each instance's auto-reply last answered each buyer.
//! An attendant's reply from the console is a line too (`db::replies` writes it).

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{Db, DbError, from_json, next_id, tables, to_json};
use crate::domain::{InstanceId, StoreId};

/// What one conversation line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// The buyer wrote to the instance.
    Reply,
    /// avisa confirmed an opt-out.
    OptOutConfirmation,
    /// The instance's auto-reply answered.
    AutoReply,
    /// A person (an attendant or admin) answered from the console.
    AttendantReply,
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Reply => "reply",
            ConversationKind::OptOutConfirmation => "opt_out_confirmation",
            ConversationKind::AutoReply => "auto_reply",
            ConversationKind::AttendantReply => "attendant_reply",
        }
    }

    /// From the buyer (true) or to them.
    pub fn incoming(self) -> bool {
        self == ConversationKind::Reply
    }
}

/// One line of a buyer's conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationEntry {
    pub id: u64,
    /// The instance it came in or went out through; none for an attendant's reply that went
    /// straight to the caixa de teste (a store in modo teste, a número de teste).
    #[serde(default)]
    pub instance_id: Option<InstanceId>,
    /// E.164, or the address as WhatsApp gave it.
    pub buyer: String,
    pub kind: ConversationKind,
    pub text: String,
    pub at: i64,
    /// The reply was an opt-out word.
    #[serde(default)]
    pub opt_out: bool,
    /// An answer the channel refused (why); absent when it went out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// An attendant's reply: the name of the user who sent it (as it was then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// An attendant's reply: the store it spoke for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<StoreId>,
    /// An attendant's reply that went to the caixa de teste instead of WhatsApp.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

/// A reply as it arrived, before it has an id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConversationEntry<'a> {
    pub instance_id: InstanceId,
    pub buyer: &'a str,
    pub kind: ConversationKind,
    pub text: &'a str,
    pub at: i64,
    pub opt_out: bool,
    pub error: Option<String>,
}

impl Db {
    /// Keeps a buyer's reply, once: with a WhatsApp message id seen before on this instance it
    /// returns `None` and changes nothing.
    pub fn record_reply(
        &self,
        entry: &NewConversationEntry<'_>,
        wire_id: Option<&str>,
    ) -> Result<Option<ConversationEntry>, DbError> {
        Ok(self
            .record_reply_releasing(entry, wire_id, entry.at)?
            .map(|(record, _)| record))
    }

    /// `record_reply`, and in the same transaction a reply that is not an opt-out releases the
    /// parts "pedir resposta" held for this buyer, due at `now` (`db::ask_reply::release`):
    /// returned with it.
    pub fn record_reply_releasing(
        &self,
        entry: &NewConversationEntry<'_>,
        wire_id: Option<&str>,
        now: i64,
    ) -> Result<Option<(ConversationEntry, Vec<crate::domain::MessageId>)>, DbError> {
        let txn = self.begin_write()?;
        if let Some(wire_id) = wire_id {
            let mut seen = txn.open_table(tables::INCOMING_SEEN)?;
            if seen.get((entry.instance_id.0, wire_id))?.is_some() {
                return Ok(None);
            }
            seen.insert((entry.instance_id.0, wire_id), entry.at)?;
        }
        let record = insert(&txn, entry)?;
        super::outbound_report::report_reply(&txn, &record, "buyer")?;
        super::deliverability::bump_health(&txn, entry.instance_id, entry.at, |d| d.replies += 1)?;
        {
            let mut ledger = super::report_ledger::Ledger::open(&txn)?;
            super::deliverability::answered(
                &txn,
                &mut ledger,
                entry.instance_id,
                entry.buyer,
                entry.at,
            )?;
        }
        let released = if entry.opt_out {
            Vec::new()
        } else {
            super::ask_reply::release(&txn, entry.instance_id, entry.buyer, now)?
        };
        txn.commit()?;
        Ok(Some((record, released)))
    }

    /// Keeps an answer avisa sent (or tried to send) to a buyer.
    pub fn record_answer(
        &self,
        entry: &NewConversationEntry<'_>,
    ) -> Result<ConversationEntry, DbError> {
        let txn = self.begin_write()?;
        let record = insert(&txn, entry)?;
        txn.commit()?;
        Ok(record)
    }

    /// Takes the instance's auto-reply turn for this buyer when `due(last answered)` allows
    /// it, remembering `now` so a restart does not answer again.
    pub fn claim_auto_reply(
        &self,
        instance_id: InstanceId,
        buyer: &str,
        now: i64,
        due: impl FnOnce(Option<i64>) -> bool,
    ) -> Result<bool, DbError> {
        let txn = self.begin_write()?;
        let claimed = {
            let mut table = txn.open_table(tables::AUTO_REPLIES)?;
            let last = table.get((instance_id.0, buyer))?.map(|v| v.value());
            let claimed = due(last);
            if claimed {
                table.insert((instance_id.0, buyer), now)?;
            }
            claimed
        };
        txn.commit()?;
        Ok(claimed)
    }

    /// A buyer's conversation, oldest first, at most the latest `limit` lines.
    pub fn conversation(
        &self,
        buyer: &str,
        limit: usize,
    ) -> Result<Vec<ConversationEntry>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::CONVERSATIONS)?;
        let mut out = Vec::new();
        for row in table.range((buyer, 0)..=(buyer, u64::MAX))?.rev() {
            out.push(from_json(row?.1.value())?);
            if out.len() >= limit {
                break;
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Erases a buyer's conversation and auto-reply times (LGPD: forget the buyer).
    pub(super) fn forget_conversation(
        txn: &redb::WriteTransaction,
        buyer: &str,
    ) -> Result<u64, DbError> {
        let mut table = txn.open_table(tables::CONVERSATIONS)?;
        let ids: Vec<u64> = table
            .range((buyer, 0)..=(buyer, u64::MAX))?
            .map(|row| row.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for id in &ids {
            table.remove((buyer, *id))?;
        }
        let mut auto = txn.open_table(tables::AUTO_REPLIES)?;
        let instances: Vec<u64> = auto
            .iter()?
            .filter_map(|row| match row {
                Ok((k, _)) if k.value().1 == buyer => Some(Ok(k.value().0)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        for instance_id in instances {
            auto.remove((instance_id, buyer))?;
        }
        Ok(ids.len() as u64)
    }
}

pub(super) fn insert(
    txn: &redb::WriteTransaction,
    entry: &NewConversationEntry<'_>,
) -> Result<ConversationEntry, DbError> {
    let record = ConversationEntry {
        id: next_id(txn, "conversation")?,
        instance_id: Some(entry.instance_id),
        buyer: entry.buyer.to_owned(),
        kind: entry.kind,
        text: entry.text.to_owned(),
        at: entry.at,
        opt_out: entry.opt_out,
        error: entry.error.clone(),
        by: None,
        store_id: None,
        test: false,
    };
    txn.open_table(tables::CONVERSATIONS)?
        .insert((entry.buyer, record.id), to_json(&record)?.as_slice())?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbOptions;

    fn open() -> (tempfile::TempDir, Db) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
        (tmp, db)
    }

    fn reply<'a>(buyer: &'a str, text: &'a str, at: i64) -> NewConversationEntry<'a> {
        NewConversationEntry {
            instance_id: InstanceId(1),
            buyer,
            kind: ConversationKind::Reply,
            text,
            at,
            opt_out: false,
            error: None,
        }
    }

    #[test]
    fn a_redelivered_reply_is_kept_once_and_conversations_stay_apart() {
        let (_tmp, store) = open();
        let ana = "+5511987654321";
        assert!(
            store
                .record_reply(&reply(ana, "oi", 10), Some("W1"))
                .expect("r")
                .is_some()
        );
        assert!(
            store
                .record_reply(&reply(ana, "oi", 10), Some("W1"))
                .expect("r")
                .is_none()
        );
        // Without an id there is nothing to recognise a redelivery by.
        assert!(
            store
                .record_reply(&reply(ana, "oi?", 20), None)
                .expect("r")
                .is_some()
        );
        store
            .record_reply(&reply("12345@lid", "outro", 15), Some("W2"))
            .expect("r");
        let texts: Vec<String> = store
            .conversation(ana, 10)
            .expect("conversation")
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(texts, ["oi", "oi?"]);
        assert_eq!(store.conversation("12345@lid", 10).expect("c").len(), 1);
        assert_eq!(store.conversation(ana, 1).expect("c")[0].text, "oi?");
    }

    #[test]
    fn the_auto_reply_turn_is_remembered_in_the_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let due = |last: Option<i64>| crate::domain::inbox::auto_reply_due(last, 1000);
        {
            let db = Db::open(&dir, &DbOptions::default()).expect("open");
            assert!(
                db.claim_auto_reply(InstanceId(1), "+5511987654321", 1000, due)
                    .expect("claim")
            );
            assert!(
                !db.claim_auto_reply(InstanceId(1), "+5511987654321", 1000, due)
                    .expect("claim")
            );
            assert!(
                db.claim_auto_reply(InstanceId(2), "+5511987654321", 1000, due)
                    .expect("claim")
            );
        }
        let db = Db::open(&dir, &DbOptions::default()).expect("reopen");
        assert!(
            !db.claim_auto_reply(InstanceId(1), "+5511987654321", 1000, due)
                .expect("claim")
        );
    }
}
