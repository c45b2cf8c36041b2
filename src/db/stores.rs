//! Stores (lojas): one platform account each, with a secret webhook token and an optional
//! signing secret. The token index is written in the same transaction as the store.

use redb::{ReadableTable, TableDefinition};
use serde::Serialize;

use super::{Db, DbError, from_json, next_id, tables, to_json};
use crate::domain::reason::Reason;
use crate::domain::{NewStore, Store, StoreId};

impl Db {
    /// Saves (or with `None` removes) a store's one record in `table` (its mapping, its API
    /// credentials); a store that does not exist is `NotFound`.
    pub(super) fn set_store_record<T: Serialize>(
        &self,
        table: TableDefinition<u64, &[u8]>,
        store_id: StoreId,
        record: Option<&T>,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            if txn.open_table(tables::STORES)?.get(store_id.0)?.is_none() {
                return Err(DbError::NotFound);
            }
            let mut table = txn.open_table(table)?;
            match record {
                Some(r) => {
                    table.insert(store_id.0, to_json(r)?.as_slice())?;
                }
                None => {
                    table.remove(store_id.0)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    pub fn create_store(&self, new: NewStore) -> Result<Store, DbError> {
        let txn = self.begin_write()?;
        let record = {
            let id = StoreId(next_id(&txn, "stores")?);
            let record = Store {
                id,
                name: new.name,
                slug: new.slug,
                platform: new.platform,
                enabled: new.enabled,
                secret: new.secret,
                webhook_token: new.webhook_token,
                created_at: new.created_at,
                first_event_at: None,
                last_event_at: None,
                event_count: 0,
                test_mode: false,
                instance_id: None,
                public_name: String::new(),
            };
            let mut tokens = txn.open_table(tables::STORE_TOKENS)?;
            if tokens.get(record.webhook_token.as_str())?.is_some() {
                return Err(DbError::Conflict("webhook token".into()));
            }
            tokens.insert(record.webhook_token.as_str(), id.0)?;
            txn.open_table(tables::STORES)?
                .insert(id.0, to_json(&record)?.as_slice())?;
            record
        };
        txn.commit()?;
        self.forget_tokens();
        Ok(record)
    }

    pub fn list_stores(&self) -> Result<Vec<Store>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::STORES)?;
        let mut stores = Vec::new();
        for row in table.iter()? {
            stores.push(from_json(row?.1.value())?);
        }
        Ok(stores)
    }

    pub fn store(&self, id: StoreId) -> Result<Store, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::STORES)?;
        let bytes = table.get(id.0)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    /// The store a webhook URL's token belongs to, from memory when it was asked before.
    /// Event counters in the answer may lag; everything a delivery needs is current.
    pub fn store_by_token(&self, token: &str) -> Result<Option<Store>, DbError> {
        if let Some(hit) = self.cached_store(token) {
            return Ok(Some(hit));
        }
        let found = self.store_by_token_uncached(token)?;
        if let Some(record) = &found {
            self.token_cache
                .write()
                .expect("token cache lock is never poisoned")
                .insert(token.to_owned(), record.clone());
        }
        Ok(found)
    }

    /// The cached store for a token, without touching the database.
    pub fn cached_store(&self, token: &str) -> Option<Store> {
        self.token_cache
            .read()
            .expect("token cache lock is never poisoned")
            .get(token)
            .cloned()
    }

    /// Drops the webhook-token cache (a store changed).
    pub(super) fn forget_cached_stores(&self) {
        self.forget_tokens();
    }

    fn forget_tokens(&self) {
        self.token_cache
            .write()
            .expect("token cache lock is never poisoned")
            .clear();
    }

    fn store_by_token_uncached(&self, token: &str) -> Result<Option<Store>, DbError> {
        let read = self.begin_read()?;
        let Some(id) = read
            .open_table(tables::STORE_TOKENS)?
            .get(token)?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let table = read.open_table(tables::STORES)?;
        table.get(id)?.map(|b| from_json(b.value())).transpose()
    }

    /// Changes a store; a new webhook token replaces the old one in the index (the old URL then
    /// answers 404).
    pub fn update_store(
        &self,
        id: StoreId,
        change: impl FnOnce(&mut Store),
    ) -> Result<Store, DbError> {
        let txn = self.begin_write()?;
        let record = {
            let mut stores = txn.open_table(tables::STORES)?;
            let mut record: Store = match stores.get(id.0)? {
                Some(bytes) => from_json(bytes.value())?,
                None => return Err(DbError::NotFound),
            };
            let old_token = record.webhook_token.clone();
            change(&mut record);
            record.id = id;
            if record.webhook_token != old_token {
                let mut tokens = txn.open_table(tables::STORE_TOKENS)?;
                if tokens.get(record.webhook_token.as_str())?.is_some() {
                    return Err(DbError::Conflict("webhook token".into()));
                }
                tokens.remove(old_token.as_str())?;
                tokens.insert(record.webhook_token.as_str(), id.0)?;
            }
            stores.insert(id.0, to_json(&record)?.as_slice())?;
            record
        };
        txn.commit()?;
        self.forget_tokens();
        Ok(record)
    }

    /// Deletes a store and its webhook URL; its pending messages are canceled. Its events and
    /// sent messages stay in the history. `now` (from the caller's clock) stamps the cancels.
    pub fn delete_store(&self, id: StoreId, now: i64) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut stores = txn.open_table(tables::STORES)?;
            let record: Store = match stores.remove(id.0)? {
                Some(bytes) => from_json(bytes.value())?,
                None => return Err(DbError::NotFound),
            };
            txn.open_table(tables::STORE_TOKENS)?
                .remove(record.webhook_token.as_str())?;
        }
        super::messages::cancel_pending_of_store(&txn, id, Reason::StoreDeleted.code(), now)?;
        super::mappings::remove_mapping(&txn, id)?;
        super::enrichment::remove_credentials(&txn, id)?;
        txn.commit()?;
        self.forget_tokens();
        self.forget_mappings();
        Ok(())
    }
}
