//! `SignalStore`: identities, sessions, pre-keys, signed pre-keys and sender keys of one
//! instance, in its namespace.

use std::sync::Arc;

use whatsapp_rust::async_trait;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::SignalStore;

use super::RedbBackend;
use super::encoding::{address_of_user, be_u32, invalid, prekey_record, prekey_value, space};

#[async_trait]
impl SignalStore for RedbBackend {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.put(space::IDENTITY, address.into(), key.to_vec())
            .await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let rows = identities
            .iter()
            .map(|(address, key)| (address.as_bytes().to_vec(), key.to_vec()))
            .collect();
        self.put_all(space::IDENTITY, rows).await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        match self.get(space::IDENTITY, address.into()).await? {
            None => Ok(None),
            Some(bytes) => Ok(Some(
                bytes
                    .try_into()
                    .map_err(|_| invalid("an identity key is not 32 bytes"))?,
            )),
        }
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.delete(space::IDENTITY, address.into()).await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        Ok(self
            .get(space::SESSION, address.into())
            .await?
            .map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.put(space::SESSION, address.into(), session.to_vec())
            .await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = sessions
            .iter()
            .map(|(address, session)| (address.as_bytes().to_vec(), session.to_vec()))
            .collect();
        self.put_all(space::SESSION, rows).await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.delete(space::SESSION, address.into()).await
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        Ok(self.get(space::SESSION, address.into()).await?.is_some())
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        let user = user.as_bytes().to_vec();
        self.read(move |r| {
            for space in [space::SESSION, space::IDENTITY] {
                for sep in [b'@', b':'] {
                    let mut prefix = user.clone();
                    prefix.push(sep);
                    if r.scan(space, &prefix)?
                        .iter()
                        .any(|(k, _)| address_of_user(k, &user))
                    {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        })
        .await
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.put(
            space::PREKEY,
            id.to_be_bytes().to_vec(),
            prekey_value(uploaded, record),
        )
        .await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let rows = keys
            .iter()
            .map(|(id, record)| (id.to_be_bytes().to_vec(), prekey_value(uploaded, record)))
            .collect();
        self.put_all(space::PREKEY, rows).await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        self.get(space::PREKEY, id.to_be_bytes().to_vec())
            .await?
            .map(|v| prekey_record(&v))
            .transpose()
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let ids = ids.to_vec();
        self.read(move |r| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(value) = r.get(space::PREKEY, &id.to_be_bytes())? {
                    out.push((id, prekey_record(&value)?));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        let ids = ids.to_vec();
        self.write(move |w| {
            for id in ids {
                let key = id.to_be_bytes();
                // UPDATE, never upsert: a key consumed meanwhile stays consumed.
                if let Some(mut value) = w.get(space::PREKEY, &key)?
                    && let Some(flag) = value.first_mut()
                    && *flag == 0
                {
                    *flag = 1;
                    w.put(space::PREKEY, &key, &value)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.delete(space::PREKEY, id.to_be_bytes().to_vec()).await
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        match self.read(|r| Ok(r.last(space::PREKEY)?)).await? {
            Some((key, _)) => be_u32(&key),
            None => Ok(0),
        }
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.put(
            space::SIGNED_PREKEY,
            id.to_be_bytes().to_vec(),
            record.to_vec(),
        )
        .await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        self.get(space::SIGNED_PREKEY, id.to_be_bytes().to_vec())
            .await
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let rows = self
            .read(|r| Ok(r.scan(space::SIGNED_PREKEY, &[])?))
            .await?;
        rows.into_iter()
            .map(|(key, record)| Ok((be_u32(&key)?, record)))
            .collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.delete(space::SIGNED_PREKEY, id.to_be_bytes().to_vec())
            .await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.put(space::SENDER_KEY, address.into(), record.to_vec())
            .await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = sender_keys
            .iter()
            .map(|(address, record)| (address.as_bytes().to_vec(), record.to_vec()))
            .collect();
        self.put_all(space::SENDER_KEY, rows).await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        self.get(space::SENDER_KEY, address.into()).await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.delete(space::SENDER_KEY, address.into()).await
    }
}
