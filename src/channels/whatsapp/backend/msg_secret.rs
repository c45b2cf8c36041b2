//! `MsgSecretStore`: message secrets (for reactions, polls, edits) with their expiry and
//! message time, of one instance.

use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{
    MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry, merge_msg_secret_message_ts,
};

use super::RedbBackend;
use super::encoding::{parts, secret_row, secret_value, space};

#[async_trait]
impl MsgSecretStore for RedbBackend {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        self.write(move |w| {
            for entry in &entries {
                let key = parts(&[
                    entry.chat.as_bytes(),
                    entry.sender.as_bytes(),
                    entry.msg_id.as_bytes(),
                ]);
                let (expires_at, message_ts) = match w.get(space::MSG_SECRET, &key)? {
                    Some(value) => {
                        let (_, expires_at, message_ts) = secret_row(&value)?;
                        (
                            merge_msg_secret_expiry(expires_at, entry.expires_at),
                            merge_msg_secret_message_ts(message_ts, entry.message_ts),
                        )
                    }
                    None => (entry.expires_at, entry.message_ts),
                };
                w.put(
                    space::MSG_SECRET,
                    &key,
                    &secret_value(&entry.secret, expires_at, message_ts),
                )?;
            }
            Ok(entries.len())
        })
        .await
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        let key = parts(&[chat.as_bytes(), sender.as_bytes(), msg_id.as_bytes()]);
        match self.get(space::MSG_SECRET, key).await? {
            Some(value) => {
                let (secret, _, message_ts) = secret_row(&value)?;
                Ok(Some((secret.to_vec(), message_ts)))
            }
            None => Ok(None),
        }
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.write(move |w| {
            let mut removed = 0u32;
            for (key, value) in w.scan(space::MSG_SECRET, &[])? {
                let (_, expires_at, _) = secret_row(&value)?;
                // 0 means never; a deadline at or before the cutoff has passed.
                if expires_at != 0 && expires_at <= cutoff_timestamp {
                    w.delete(space::MSG_SECRET, &key)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }
}
