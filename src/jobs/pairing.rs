//! Pairings: follows every instance's channel state and, each time one is connected as a
//! number, tells storage (`Db::note_pairing`), which starts the warm-up ramp on a WhatsApp
//! instance's first pairing in this data file or when a different number is paired to it.
//! Channel-agnostic (the fake in tests, WhatsApp in production). Uses `db`, `domain` and
//! `channels`.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::watch;

use crate::channels::Channels;
use crate::db::Db;
use crate::domain::{Clock, InstanceId};
use crate::queue::channel::ChannelState;

/// Starts the follower of the registry; it ends with the registry.
pub fn spawn_pairing_watch(db: Db, channels: Arc<Channels>, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut followed: HashSet<InstanceId> = HashSet::new();
        let mut changes = channels.changes();
        loop {
            for id in channels.ids() {
                if followed.insert(id)
                    && let Some(rx) = channels.subscribe(id)
                {
                    tokio::spawn(follow(db.clone(), id, rx, clock.clone()));
                }
            }
            if changes.changed().await.is_err() {
                return;
            }
            // A removed channel's follower ends by itself; a new one for the same id is followed.
            followed.retain(|id| channels.get(*id).is_some());
        }
    });
}

/// Notes every connected number of one channel (the current state included: an instance
/// already connected at start is a reconnect, which changes nothing for a known number).
async fn follow(
    db: Db,
    id: InstanceId,
    mut rx: watch::Receiver<ChannelState>,
    clock: Arc<dyn Clock>,
) {
    loop {
        let state = rx.borrow_and_update().clone();
        if let ChannelState::Connected { number, .. } = state
            && number.starts_with('+')
        {
            let (db, now) = (db.clone(), clock.now());
            match crate::db::blocking(move || db.note_pairing(id, &number, now)).await {
                Ok(Some(reason)) => {
                    tracing::info!(instance_id = id.0, reason, "warm-up started by a pairing");
                }
                Ok(None) | Err(crate::db::DbError::NotFound) => {}
                Err(e) => tracing::warn!(instance_id = id.0, error = %e, "pairing not noted"),
            }
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}
