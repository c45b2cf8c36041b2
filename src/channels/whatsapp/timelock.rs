//! Asking WhatsApp for the number's reachout timelock (`mex().fetch_reachout_timelock()`) when
//! it is paired, when it logs in, after a 463 (`events::timelock_check`) and once a day (the
//! hourly look of `daily`), as `domain::deliverability::timelock::due` allows; the answer goes
//! on the instance (`Db::record_timelock`), where the throttle policy pauses the number while the
//! timelock runs and brings it back by itself when it ends.

use std::sync::Arc;
use std::time::Duration;

use whatsapp_rust::Client;

use super::client::Shared;
use crate::db::blocking;
use crate::domain::deliverability::timelock::{self, Check};

/// How often the daily look wakes to see whether a day passed since the last answer.
const LOOK_EVERY: Duration = Duration::from_secs(3600);

/// Asks WhatsApp now if `check` is due, and keeps the answer. Failures are logged and retried
/// at the next moment (the next login, 463 or hourly look).
pub(super) async fn check(shared: Arc<Shared>, client: Arc<Client>, check: Check) {
    let (db, id) = (shared.db.clone(), shared.instance_id);
    let last = match blocking(move || db.instance(id)).await {
        Ok(instance) => instance.health.timelock_checked_at,
        Err(e) => {
            tracing::warn!(instance = id.0, error = %e, "instance not read for the timelock look");
            return;
        }
    };
    let now = shared.clock.now();
    if !timelock::due(check, last, now) {
        return;
    }
    let answer = match client.mex().fetch_reachout_timelock().await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(instance = id.0, error = %e, ?check, "reachout timelock not read");
            return;
        }
    };
    let until = timelock::until(
        answer.is_active,
        answer.time_enforcement_ends.as_deref(),
        now,
    );
    tracing::info!(instance = id.0, ?check, ?until, "reachout timelock read");
    let db = shared.db.clone();
    match blocking(move || db.record_timelock(id, until, now)).await {
        Ok(()) => shared.timelock_looks.send_modify(|n| *n += 1),
        Err(e) => tracing::warn!(instance = id.0, error = %e, "reachout timelock not kept"),
    }
}

/// The daily look for one client: every hour, asks if a day passed since the last answer.
/// Ends when the task is aborted (the supervisor drops it with the client).
pub(super) async fn daily(shared: Arc<Shared>, client: Arc<Client>) {
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        if client.is_logged_in() {
            check(shared.clone(), client.clone(), Check::Daily).await;
        }
    }
}

/// A task that ends with its owner.
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
