//! `ProtocolStore`: sender-key devices, LID↔phone mappings, base keys, device lists, group
//! metadata, tc tokens, sent messages and pending inbound messages of one instance.

use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{
    DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow, ProtocolStore,
    TcTokenEntry,
};

use super::RedbBackend;
use super::encoding::{
    from_json, invalid, parts, space, split_parts, stamped, to_json, unstamp, utf8,
};
use crate::db::WaWrite;

/// `put_lid_mapping` inside a transaction, exactly as the library's own backend keeps its
/// reverse index: the phone's entry points at the last LID stored for it, and a LID that moves
/// to another phone takes its old phone's entry with it (even if another LID claimed that phone
/// since — the library then re-learns it; matching the reference matters more than the cache).
fn put_lid_mapping_in(w: &mut WaWrite<'_>, entry: &LidPnMappingEntry) -> Result<()> {
    if let Some(old) = w.get(space::LID_MAPPING, entry.lid.as_bytes())? {
        let old: LidPnMappingEntry = from_json(&old)?;
        if old.phone_number != entry.phone_number {
            w.delete(space::PN_TO_LID, old.phone_number.as_bytes())?;
        }
    }
    w.put(
        space::PN_TO_LID,
        entry.phone_number.as_bytes(),
        entry.lid.as_bytes(),
    )?;
    w.put(space::LID_MAPPING, entry.lid.as_bytes(), &to_json(entry)?)?;
    Ok(())
}

#[async_trait]
impl ProtocolStore for RedbBackend {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let prefix = parts(&[group_jid.as_bytes()]);
        let rows = self
            .read(move |r| Ok(r.scan(space::SENDER_KEY_DEVICE, &prefix)?))
            .await?;
        rows.into_iter()
            .map(|(key, value)| {
                let key = split_parts(&key)?;
                let device = key
                    .get(1)
                    .ok_or_else(|| invalid("a sender-key device key"))?;
                Ok((utf8(device)?, value.first() == Some(&1)))
            })
            .collect()
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let rows = entries
            .iter()
            .map(|(device, has_key)| {
                (
                    parts(&[group_jid.as_bytes(), device.as_bytes()]),
                    vec![u8::from(*has_key)],
                )
            })
            .collect();
        self.put_all(space::SENDER_KEY_DEVICE, rows).await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        let prefix = parts(&[group_jid.as_bytes()]);
        self.write(move |w| {
            Ok(w.delete_prefix(space::SENDER_KEY_DEVICE, &prefix)
                .map(drop)?)
        })
        .await
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let devices: Vec<Vec<u8>> = device_jids.iter().map(|d| d.as_bytes().to_vec()).collect();
        self.write(move |w| {
            for (key, _) in w.scan(space::SENDER_KEY_DEVICE, &[])? {
                let doomed = split_parts(&key)?
                    .get(1)
                    .is_some_and(|device| devices.iter().any(|d| d == device));
                if doomed {
                    w.delete(space::SENDER_KEY_DEVICE, &key)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.write(|w| Ok(w.delete_prefix(space::SENDER_KEY_DEVICE, &[]).map(drop)?))
            .await
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        self.get(space::LID_MAPPING, lid.into())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        let phone = phone.as_bytes().to_vec();
        self.read(move |r| {
            let Some(lid) = r.get(space::PN_TO_LID, &phone)? else {
                return Ok(None);
            };
            r.get(space::LID_MAPPING, &lid)?
                .map(|v| from_json(&v))
                .transpose()
        })
        .await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.put_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        let entries = entries.to_vec();
        self.write(move |w| {
            for entry in &entries {
                put_lid_mapping_in(w, entry)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let rows = self.read(|r| Ok(r.scan(space::LID_MAPPING, &[])?)).await?;
        rows.iter().map(|(_, v)| from_json(v)).collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        let key = parts(&[address.as_bytes(), message_id.as_bytes()]);
        self.put(space::BASE_KEY, key, base_key.to_vec()).await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        let key = parts(&[address.as_bytes(), message_id.as_bytes()]);
        Ok(self
            .get(space::BASE_KEY, key)
            .await?
            .is_some_and(|stored| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        let key = parts(&[address.as_bytes(), message_id.as_bytes()]);
        self.delete(space::BASE_KEY, key).await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let rows = records
            .iter()
            .map(|record| Ok((record.user.as_bytes().to_vec(), to_json(record)?)))
            .collect::<Result<Vec<_>>>()?;
        self.put_all(space::DEVICE_LIST, rows).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        self.get(space::DEVICE_LIST, user.into())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.delete(space::DEVICE_LIST, user.into()).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        self.get(space::GROUP_METADATA, group_jid.into()).await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.put(space::GROUP_METADATA, group_jid.into(), blob.to_vec())
            .await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.delete(space::GROUP_METADATA, group_jid.into()).await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        self.get(space::TC_TOKEN, jid.into())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.put(space::TC_TOKEN, jid.into(), to_json(entry)?).await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.delete(space::TC_TOKEN, jid.into()).await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        let rows = self.read(|r| Ok(r.scan(space::TC_TOKEN, &[])?)).await?;
        rows.iter().map(|(k, _)| utf8(k)).collect()
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        self.write(move |w| {
            let mut removed = 0u32;
            for (key, value) in w.scan(space::TC_TOKEN, &[])? {
                let entry: TcTokenEntry = from_json(&value)?;
                // A row goes only when both its received token and its sender bucket are stale.
                let token_live = !entry.token.is_empty() && entry.token_timestamp >= token_cutoff;
                let sender_live = entry.sender_timestamp.is_some_and(|ts| ts >= sender_cutoff);
                if !(token_live || sender_live) {
                    w.delete(space::TC_TOKEN, &key)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        let jid = jid.as_bytes().to_vec();
        self.write(move |w| {
            let entry = match w.get(space::TC_TOKEN, &jid)? {
                Some(value) => {
                    let mut entry: TcTokenEntry = from_json(&value)?;
                    entry.sender_timestamp = Some(
                        entry
                            .sender_timestamp
                            .map_or(sender_timestamp, |e| e.max(sender_timestamp)),
                    );
                    entry
                }
                None => TcTokenEntry {
                    token: Vec::new(),
                    token_timestamp: sender_timestamp,
                    sender_timestamp: Some(sender_timestamp),
                },
            };
            w.put(space::TC_TOKEN, &jid, &to_json(&entry)?)?;
            Ok(())
        })
        .await
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        let (jid, token) = (jid.as_bytes().to_vec(), token.to_vec());
        self.write(move |w| {
            let entry = match w.get(space::TC_TOKEN, &jid)? {
                Some(value) => {
                    let mut entry: TcTokenEntry = from_json(&value)?;
                    // Newer wins; a placeholder never blocks the first real token.
                    if !(entry.token.is_empty() || token_timestamp >= entry.token_timestamp) {
                        return Ok(());
                    }
                    entry.token = token;
                    entry.token_timestamp = token_timestamp;
                    entry
                }
                None => TcTokenEntry {
                    token,
                    token_timestamp,
                    sender_timestamp: None,
                },
            };
            w.put(space::TC_TOKEN, &jid, &to_json(&entry)?)?;
            Ok(())
        })
        .await
    }

    /// Unlike the in-memory backend, no 4,096-row cap: that is a memory bound there, and the
    /// library's keepalive sweep (`delete_expired_sent_messages`) bounds the rows here.
    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        // The library's clock (not avisa's): the library computes the expiry cutoff with it.
        let now = whatsapp_rust::wacore::time::now_secs();
        let key = parts(&[chat_jid.as_bytes(), message_id.as_bytes()]);
        self.put(space::SENT_MESSAGE, key, stamped(now, payload))
            .await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let key = parts(&[chat_jid.as_bytes(), message_id.as_bytes()]);
        self.write(move |w| match w.get(space::SENT_MESSAGE, &key)? {
            Some(value) => {
                w.delete(space::SENT_MESSAGE, &key)?;
                Ok(Some(unstamp(&value)?.1.to_vec()))
            }
            None => Ok(None),
        })
        .await
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.delete_stamped_before(space::SENT_MESSAGE, cutoff_timestamp)
            .await
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        self.store_pending_inbound_batch(&[PendingInboundRow {
            chat,
            sender,
            id,
            message,
        }])
        .await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let key = parts(&[chat.as_bytes(), sender.as_bytes(), id.as_bytes()]);
        self.get(space::PENDING_INBOUND, key)
            .await?
            .map(|value| Ok(unstamp(&value)?.1.to_vec()))
            .transpose()
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.delete_pending_inbound_batch(&[PendingInboundKey { chat, sender, id }])
            .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.delete_stamped_before(space::PENDING_INBOUND, cutoff_timestamp)
            .await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let now = whatsapp_rust::wacore::time::now_secs();
        let rows = rows
            .iter()
            .map(|row| {
                (
                    parts(&[
                        row.chat.as_bytes(),
                        row.sender.as_bytes(),
                        row.id.as_bytes(),
                    ]),
                    stamped(now, row.message),
                )
            })
            .collect();
        self.put_all(space::PENDING_INBOUND, rows).await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let keys: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| parts(&[k.chat.as_bytes(), k.sender.as_bytes(), k.id.as_bytes()]))
            .collect();
        self.write(move |w| {
            for key in keys {
                w.delete(space::PENDING_INBOUND, &key)?;
            }
            Ok(())
        })
        .await
    }
}
