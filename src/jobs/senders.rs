//! The senders: registers every instance's channel, then starts the outbox loop (due messages
//! out) and the inbox (buyers' replies in) on the shared channel registry. Uses `db`, `queue`
//! and `http::AppState` (where the outbox's metrics and wake-up live).

use std::sync::Arc;

use crate::app::StartError;
use crate::db::Db;
use crate::domain::Clock;
use crate::http::AppState;

/// Registers every instance's channel and starts the outbox loop.
pub fn start_senders(db: &Db, state: &AppState, clock: Arc<dyn Clock>) -> Result<(), StartError> {
    for instance in db.list_instances()? {
        state.channels.ensure(&instance);
    }
    let clock_for_inbox = clock.clone();
    let outbox = crate::queue::outbox::Outbox::new(
        db.clone(),
        state.channels.clone(),
        clock,
        Arc::new(rand::random::<f64>),
    );
    state
        .outbox_metrics
        .set(outbox.metrics())
        .map_err(|_| StartError::Io(std::io::Error::other("outbox started twice")))?;
    outbox.spawn(state.outbox_wake.clone());
    crate::queue::inbox::Inbox::new(db.clone(), state.channels.clone(), clock_for_inbox)
        .waking(state.outbox_wake.clone())
        .spawn();
    Ok(())
}
