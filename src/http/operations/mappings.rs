//! What the console and the API both do with a store's mapping: read it, validate and save it,
//! remove it, re-process the store's held unmapped events, and preview one body's reading. No
//! actix types.

use crate::db::{DbError, Reprocessed};
use crate::domain::{Platform, StoreId};
use crate::http::AppState;
use crate::ingest::mapping::{Mapping, MappingError};

/// Why a mapping was not saved.
#[derive(Debug)]
pub enum MappingRefusal {
    Invalid(MappingError),
    Db(DbError),
}

impl From<DbError> for MappingRefusal {
    fn from(e: DbError) -> Self {
        MappingRefusal::Db(e)
    }
}

/// The store's mapping, or an empty one (nothing mapped yet), and its platform.
pub async fn show_mapping(state: &AppState, id: StoreId) -> Result<(Platform, Mapping), DbError> {
    state
        .run(move |db| {
            let store = db.store(id)?;
            let mapping = db.store_mapping(id)?;
            Ok((
                store.platform,
                mapping.map(|m| (*m).clone()).unwrap_or_default(),
            ))
        })
        .await
}

/// Validates `mapping` for the store's platform and saves it. A merchant's save confirms a
/// preset (`unverified` is cleared) unless `keep_unverified`.
pub async fn save_mapping(
    state: &AppState,
    id: StoreId,
    mapping: Mapping,
    keep_unverified: bool,
) -> Result<Mapping, MappingRefusal> {
    let platform = state.run(move |db| db.store(id)).await?.platform;
    let mut mapping = mapping
        .validate(platform)
        .map_err(MappingRefusal::Invalid)?;
    if !keep_unverified {
        mapping.unverified = false;
    }
    let saved = mapping.clone();
    state
        .run(move |db| db.set_store_mapping(id, Some(&saved)))
        .await?;
    Ok(mapping)
}

/// Removes the store's mapping: its names are unmapped again from the next delivery on.
pub async fn remove_mapping(state: &AppState, id: StoreId) -> Result<(), DbError> {
    state.run(move |db| db.set_store_mapping(id, None)).await
}

/// Re-reads the store's held unmapped events with its mapping and plans the recognised ones.
pub async fn reprocess(state: &AppState, id: StoreId) -> Result<Reprocessed, DbError> {
    let now = state.clock.now();
    let done = state.run(move |db| db.reprocess_unmapped(id, now)).await?;
    if done.recognised > 0 {
        state.outbox_wake.notify_one();
    }
    Ok(done)
}
