//! The session sweeper: every ten minutes, forget console sessions idle for longer than the
//! configured limit. Uses `db` and the clock.

use std::sync::Arc;
use std::time::Duration;

use crate::db::Db;
use crate::domain::Clock;

/// Every ten minutes, forget sessions idle for longer than the configured limit.
pub fn spawn_session_sweeper(db: Db, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let db = db.clone();
            let now = clock.now();
            let result = tokio::task::spawn_blocking(move || {
                let idle = i64::from(db.console_settings()?.session_idle_minutes) * 60;
                db.purge_sessions(now - idle)
            })
            .await;
            match result {
                Ok(Ok(n)) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "session sweep failed"),
                Err(e) => tracing::warn!(error = %e, "session sweep task failed"),
            }
        }
    });
}
