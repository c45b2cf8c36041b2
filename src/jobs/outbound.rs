//! Outbound webhooks' background work: the sender thread (`queue::outbound::Sender` over
//! `net::Client` with `Policy::admin_configured()`: the admin typed these URLs, so loopback and
//! private targets are allowed), and a watcher that turns each instance's channel state changes
//! into `instance.state` deliveries. Uses `db`, `queue`, `channels`, `net` and `http::AppState`.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use crate::db::Db;
use crate::domain::{Clock, InstanceId};
use crate::http::AppState;
use crate::net::{Client, Policy};
use crate::queue::outbound::{Sender, Transport};

/// Starts the sender thread and the instance-state watcher. Both end once `state` is gone.
pub fn start_outbound(db: &Db, state: &AppState, clock: Arc<dyn Clock>) {
    let transport: Arc<dyn Transport> = Arc::new(Client::new(Policy::admin_configured()));
    let sender = Sender::new(
        db.clone(),
        transport,
        clock.clone(),
        Arc::new(crate::domain::outbound::spread),
    );
    sender.spawn(Arc::downgrade(&state.outbound_alive));
    tokio::spawn(watch_instances(
        db.clone(),
        state.channels.clone(),
        clock,
        Arc::downgrade(&state.outbound_alive),
    ));
}

/// Follows the registry: each instance that gets a channel gets a follower of its state.
async fn watch_instances(
    db: Db,
    channels: Arc<crate::channels::Channels>,
    clock: Arc<dyn Clock>,
    alive: Weak<()>,
) {
    let mut followed: HashSet<InstanceId> = HashSet::new();
    let mut changes = channels.changes();
    loop {
        if alive.upgrade().is_none() {
            return;
        }
        for id in channels.ids() {
            if followed.insert(id)
                && let Some(rx) = channels.subscribe(id)
            {
                tokio::spawn(follow(db.clone(), id, rx, clock.clone(), alive.clone()));
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
        // A removed channel's follower ends by itself; a new one for the same id is followed.
        followed.retain(|id| channels.get(*id).is_some());
    }
}

/// Queues `instance.state` each time the instance's state changes kind (connected, waiting for
/// a QR, logged out, …); a refreshed QR is not a change.
async fn follow(
    db: Db,
    id: InstanceId,
    mut rx: tokio::sync::watch::Receiver<crate::queue::channel::ChannelState>,
    clock: Arc<dyn Clock>,
    alive: Weak<()>,
) {
    let name = |v: &serde_json::Value| v.get("state").cloned().unwrap_or_default();
    let mut last = name(&public(&rx.borrow_and_update().clone()));
    while rx.changed().await.is_ok() {
        if alive.upgrade().is_none() {
            return;
        }
        let state = public(&rx.borrow_and_update().clone());
        if name(&state) == last {
            continue;
        }
        last = name(&state);
        let (db, at) = (db.clone(), clock.now());
        let stored = crate::db::blocking(move || db.emit_instance_state(id, state, at)).await;
        if let Err(e) = stored {
            tracing::warn!(instance_id = id.0, error = %e, "instance.state not queued");
        }
    }
}

/// The state as a receiver may see it: never the pairing QR or code (they would let whoever
/// reads them attach their own phone to the number).
fn public(state: &crate::queue::channel::ChannelState) -> serde_json::Value {
    let mut value = serde_json::to_value(state).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("qr");
        map.remove("code");
    }
    value
}
