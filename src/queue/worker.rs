//! The loop of a queue's worker thread (the outbound sender, the enrichment worker): a pass,
//! then a sleep until the next due item, a ring of the queue's bell, or a minute. A failed pass
//! is logged, noted for the health checks, and tried again after 5 s.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::db::{Db, DbError};
use crate::domain::Clock;

/// The longest the loop sleeps without a reason (a lease ending is a reason; this is a
/// backstop).
const MAX_SLEEP_S: i64 = 60;
/// The sleep after a failed pass.
const AFTER_FAILURE_S: i64 = 5;

/// A queue's bell in `db`: how many times it rang, and a blocking wait for the next ring.
pub struct Bell {
    pub rings: fn() -> u64,
    pub wait: fn(u64, Duration),
}

/// Runs `pass` on a thread named `thread` while `alive` can be upgraded (the server runs).
/// `pass` answers when the next item is due (`None`: nothing waits); `what` names the queue in
/// the log line of a failed pass.
pub fn spawn(
    thread: &str,
    what: &'static str,
    alive: Weak<()>,
    bell: Bell,
    (db, clock): (Db, Arc<dyn Clock>),
    mut pass: impl FnMut() -> Result<Option<i64>, DbError> + Send + 'static,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(thread.into())
        .spawn(move || {
            while alive.upgrade().is_some() {
                let seen = (bell.rings)();
                let sleep_s = match pass() {
                    Ok(next_due) => next_due
                        .map_or(MAX_SLEEP_S, |due| due - clock.now())
                        .clamp(0, MAX_SLEEP_S),
                    Err(e) => {
                        tracing::warn!(error = %e, "{what} pass failed");
                        db.note_failure(&e);
                        AFTER_FAILURE_S
                    }
                };
                if sleep_s > 0 {
                    (bell.wait)(seen, Duration::from_secs(sleep_s as u64));
                }
            }
        })
        .unwrap_or_else(|e| panic!("start the {thread} thread: {e}"))
}
