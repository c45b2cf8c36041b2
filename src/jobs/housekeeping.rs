//! Housekeeping: every hour the scheduled backup when one is due (and pruning of old ones), once
//! a day the retention sweep of old raw bodies, of old buyers remembered for orders (order
//! memory) and of finished outbound webhook deliveries, and on a quiet night the compaction that
//! gives the file the space retention freed. Uses `db`, `domain::housekeeping` and the clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::scheduled_backup::scheduled_backup;
use crate::db::{Compacted, Db, DbError};
use crate::domain::Clock;
use crate::domain::housekeeping::{DAY, QUIET_S, compaction_due, retention_cutoff};

/// Every hour: the scheduled backup when one is due (and pruning of old ones); once a day, the
/// retention sweep. The first check runs at start-up, so a server restarted daily still backs up.
pub fn spawn_housekeeping(db: Db, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        let mut last_retention: Option<i64> = None;
        let mut compaction = Compaction::default();
        loop {
            tick.tick().await;
            let now = clock.now();
            let retention = last_retention.is_none_or(|last| now - last >= DAY);
            let db = db.clone();
            let result = tokio::task::spawn_blocking(move || {
                let report = run_housekeeping(&db, now, retention);
                compaction.deleted(report.raw_bodies_purged);
                let compacted = compaction.run(&db, now);
                (report, compaction, compacted)
            })
            .await;
            match result {
                Ok((report, state, compacted)) => {
                    compaction = state;
                    match compacted {
                        Some(Ok(c)) => tracing::info!(
                            bytes_before = c.bytes_before,
                            bytes_after = c.bytes_after,
                            "data file compacted"
                        ),
                        Some(Err(e)) => tracing::warn!(error = %e, "compaction"),
                        None => {}
                    }
                    if retention {
                        last_retention = Some(now);
                    }
                    if let Some(file) = &report.backup {
                        tracing::info!(file = %file.display(), pruned = report.pruned.len(), "scheduled backup written");
                    }
                    if report.raw_bodies_purged > 0 {
                        tracing::info!(
                            raw_bodies = report.raw_bodies_purged,
                            "retention: old raw bodies deleted"
                        );
                    }
                    if report.deliveries_purged > 0 {
                        tracing::info!(
                            deliveries = report.deliveries_purged,
                            "retention: old outbound webhook deliveries deleted"
                        );
                    }
                    for error in report.errors {
                        tracing::warn!(error, "housekeeping");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "housekeeping task failed");
                    compaction = Compaction::default();
                }
            }
        }
    });
}

/// What one housekeeping pass did.
#[derive(Debug, Default)]
pub struct HousekeepingReport {
    /// The scheduled backup written, if one was due.
    pub backup: Option<PathBuf>,
    /// Old scheduled backups deleted.
    pub pruned: Vec<PathBuf>,
    pub raw_bodies_purged: u64,
    /// Buyers remembered for orders (order memory) older than the retention limit, forgotten.
    pub order_buyers_purged: u64,
    /// Finished outbound webhook deliveries older than the retention limit, deleted.
    pub deliveries_purged: u64,
    pub errors: Vec<String>,
}

/// One pass of scheduled backup and (when `retention` is set) the retention sweep, at `now`.
/// Public so tests can step time instead of waiting for the hourly tick.
pub fn run_housekeeping(db: &Db, now: i64, retention: bool) -> HousekeepingReport {
    let mut report = HousekeepingReport::default();
    let settings = match db.ops_settings() {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(format!("settings: {e}"));
            return report;
        }
    };
    if settings.backup_enabled {
        let dir = if settings.backup_dir.is_empty() {
            db.path()
                .parent()
                .expect("the data file is inside the data directory")
                .join("backups")
        } else {
            PathBuf::from(&settings.backup_dir)
        };
        if let Err(e) = scheduled_backup(db, &dir, now, settings.backup_keep, &mut report) {
            report
                .errors
                .push(format!("scheduled backup in {}: {e}", dir.display()));
        }
    }
    if retention && let Some(cutoff) = retention_cutoff(now, settings.retention_days) {
        match db.purge_raw_bodies_before(cutoff) {
            Ok(n) => report.raw_bodies_purged = n,
            Err(e) => report.errors.push(format!("retention: {e}")),
        }
        match db.purge_order_memory_before(cutoff) {
            Ok(n) => report.order_buyers_purged = n,
            Err(e) => report.errors.push(format!("retention (order memory): {e}")),
        }
        match db.purge_deliveries_before(cutoff) {
            Ok(n) => report.deliveries_purged = n,
            Err(e) => report
                .errors
                .push(format!("retention (outbound deliveries): {e}")),
        }
    }
    report
}

/// The nightly compaction's memory between hourly passes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Compaction {
    /// When the file was last compacted by this process.
    pub last: Option<i64>,
    /// Retention deleted something since then.
    pub deleted_since: bool,
}

impl Compaction {
    /// Notes what a retention sweep deleted.
    pub fn deleted(&mut self, rows: u64) {
        self.deleted_since |= rows > 0;
    }

    /// Compacts the file when `domain::housekeeping::compaction_due` says so (a quiet night);
    /// `None` when it is not due. Public so tests can step time instead of waiting for the night.
    pub fn run(&mut self, db: &Db, now: i64) -> Option<Result<Compacted, DbError>> {
        let activity = match db.activity(now - QUIET_S, now + QUIET_S) {
            Ok(a) => a,
            Err(e) => return Some(Err(e)),
        };
        if !compaction_due(
            now,
            self.last,
            self.deleted_since,
            activity.last_event_at,
            activity.message_due_in_window,
        ) {
            return None;
        }
        let result = db.compact();
        if result.is_ok() {
            *self = Compaction {
                last: Some(now),
                deleted_since: false,
            };
        }
        Some(result)
    }
}
