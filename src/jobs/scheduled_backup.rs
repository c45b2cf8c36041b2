//! The scheduled backup: one compressed copy of the data file per day in the backup folder
//! (created 0700), then the oldest beyond the number to keep are deleted. The file names and the
//! rules (due? which to prune?) are `domain::housekeeping`'s; this file does the I/O.

use super::housekeeping::HousekeepingReport;
use crate::db::Db;
use crate::domain::housekeeping::{backup_due, backup_file_name, backups_to_prune};

/// Writes the backup into `dir` when one is due at `now`, then prunes beyond `keep`; what it did
/// lands in `report`.
pub(super) fn scheduled_backup(
    db: &Db,
    dir: &std::path::Path,
    now: i64,
    keep: u32,
    report: &mut HousekeepingReport,
) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let names = |dir: &std::path::Path| -> Result<Vec<String>, String> {
        Ok(std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect())
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| e.to_string())?;
    if !backup_due(&names(dir)?, now) {
        return Ok(());
    }
    let file = dir.join(backup_file_name(now));
    db.backup_to(&file).map_err(|e| e.to_string())?;
    report.backup = Some(file);
    for name in backups_to_prune(&names(dir)?, keep) {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => report.pruned.push(path),
            Err(e) => report.errors.push(format!("{}: {e}", path.display())),
        }
    }
    Ok(())
}
