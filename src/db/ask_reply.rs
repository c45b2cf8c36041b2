//! "Pedir resposta"'s storage steps (issue 15): the held parts of a step live in `MESSAGES` as
//! scheduled messages marked `ReplyRole::Held`, so they are durable, canceled by an opt-out or
//! the happy path, and counted like any message. When the invitation goes out its held parts'
//! due time moves to the end of the wait (same transaction as the send's record); when the
//! buyer answers through the same number they move to the answer's time (same transaction as
//! the reply). No new table: the buyer's phone index finds them.

use redb::{ReadableMultimapTable, ReadableTable, WriteTransaction};

use super::{Db, DbError, from_json, tables};
use crate::domain::deliverability::ReplyRole;
use crate::domain::deliverability::ask_reply::{invite_out, invite_pending};
use crate::domain::{Change, InstanceId, Message, MessageId, MessageStatus, Reason};

impl Db {
    /// Whether `message` is a part held behind an invitation that has yet to go out.
    pub fn invite_pending(&self, message: &Message) -> Result<bool, DbError> {
        let Some(ReplyRole::Held { invite, .. }) = message.reply_role else {
            return Ok(false);
        };
        let read = self.begin_read()?;
        let invite: Option<Message> = read
            .open_table(tables::MESSAGES)?
            .get(invite.0)?
            .map(|b| from_json(b.value()))
            .transpose()?;
        Ok(invite.is_some_and(|m| invite_pending(m.status)))
    }
}

/// The buyer's scheduled parts held behind an invitation, with that invitation's record.
fn held_parts(txn: &WriteTransaction, phone: &str) -> Result<Vec<(Message, Message)>, DbError> {
    let ids: Vec<u64> = txn
        .open_multimap_table(tables::MESSAGES_BY_PHONE)?
        .get(phone)?
        .map(|v| v.map(|v| v.value()))
        .collect::<Result<_, _>>()?;
    let table = txn.open_table(tables::MESSAGES)?;
    let load = |id: u64| -> Result<Option<Message>, DbError> {
        table.get(id)?.map(|b| from_json(b.value())).transpose()
    };
    let mut out = Vec::new();
    for id in ids {
        let Some(message) = load(id)? else { continue };
        if let (MessageStatus::Scheduled, Some(ReplyRole::Held { invite, .. })) =
            (message.status, message.reply_role)
            && let Some(invite) = load(invite.0)?
        {
            out.push((message, invite));
        }
    }
    Ok(out)
}

/// The invitation `invite` went out at `sent_at`: each part it holds now goes at the end of
/// the wait, unless the buyer already answered (a part already due earlier keeps its time).
pub(super) fn start_timers(
    txn: &WriteTransaction,
    invite: &Message,
    sent_at: i64,
) -> Result<(), DbError> {
    let Some(ReplyRole::Invite { timeout_min }) = invite.reply_role else {
        return Ok(());
    };
    let due = ReplyRole::timer_due(timeout_min, sent_at);
    let held = held_parts(txn, &invite.phone)?;
    for (mut part, _) in held.into_iter().filter(|(_, of)| of.id == invite.id) {
        let due_at = due + i64::from(part.part) * 5;
        let reason = Reason::ReplyTimer.code().to_owned();
        super::messages::change_status(txn, &mut part, Change::Await { due_at, reason }, sent_at)?;
    }
    Ok(())
}

/// The buyer `buyer` wrote through `instance_id`, handled at `now`: every part held behind an
/// invitation that already reached them through that number goes now (quiet hours, the daily
/// limit and pacing still apply at the gate). The reply's own time is WhatsApp's and may be
/// ahead of avisa's clock, so the due time is `now`. Returns the parts released.
pub(super) fn release(
    txn: &WriteTransaction,
    instance_id: InstanceId,
    buyer: &str,
    now: i64,
) -> Result<Vec<MessageId>, DbError> {
    let answered =
        |invite: &Message| invite_out(invite.status) && invite.instance_id == Some(instance_id);
    let held = held_parts(txn, buyer)?;
    let mut released = Vec::new();
    for (mut part, _) in held.into_iter().filter(|(_, invite)| answered(invite)) {
        // Due now (the outbox keeps the parts' order by id, pacing spaces them).
        let due_at = part.due_at.min(now);
        let reason = Reason::BuyerAnswered.code().to_owned();
        if super::messages::change_status(txn, &mut part, Change::Await { due_at, reason }, now)? {
            released.push(part.id);
        }
    }
    Ok(released)
}
