//! `AppSyncStore`: app-state sync keys, collection versions (hash states) and mutation MACs of
//! one instance.

use std::collections::HashMap;

use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{AppStateSyncKey, AppSyncStore};

use super::RedbBackend;
use super::encoding::{LATEST_SYNC_KEY, from_json, parts, space, to_json};

#[async_trait]
impl AppSyncStore for RedbBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        self.get(space::SYNC_KEY, key_id.to_vec())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        let (key_id, value) = (key_id.to_vec(), to_json(&key)?);
        self.write(move |w| {
            w.put(space::SYNC_KEY, &key_id, &value)?;
            w.put(space::META, LATEST_SYNC_KEY, &key_id)?;
            Ok(())
        })
        .await
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        match self.get(space::APP_VERSION, name.into()).await? {
            Some(bytes) => from_json(&bytes),
            None => Ok(HashState::default()),
        }
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        self.put(space::APP_VERSION, name.into(), to_json(&state)?)
            .await
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        _version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        let rows = mutations
            .iter()
            .map(|m| (parts(&[name.as_bytes(), &m.index_mac]), m.value_mac.clone()))
            .collect();
        self.put_all(space::MUTATION_MAC, rows).await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(space::MUTATION_MAC, parts(&[name.as_bytes(), index_mac]))
            .await
    }

    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let (name, index_macs) = (name.to_owned(), index_macs.to_vec());
        self.read(move |r| {
            let mut out = HashMap::with_capacity(index_macs.len());
            for index_mac in index_macs {
                let key = parts(&[name.as_bytes(), &index_mac]);
                if let Some(mac) = r.get(space::MUTATION_MAC, &key)? {
                    out.insert(index_mac, mac);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let keys: Vec<Vec<u8>> = index_macs
            .iter()
            .map(|mac| parts(&[name.as_bytes(), mac]))
            .collect();
        self.write(move |w| {
            for key in keys {
                w.delete(space::MUTATION_MAC, &key)?;
            }
            Ok(())
        })
        .await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        let prefix = parts(&[name.as_bytes()]);
        self.write(move |w| Ok(w.delete_prefix(space::MUTATION_MAC, &prefix).map(drop)?))
            .await
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        self.get(space::META, LATEST_SYNC_KEY.to_vec()).await
    }
}
