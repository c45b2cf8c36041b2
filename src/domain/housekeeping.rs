//! The arithmetic of scheduled backups and data retention: when the next backup is due, which
//! old backups to delete, which records are past the retention limit. Time is passed in.

use jiff::Timestamp;

/// A day in seconds.
pub const DAY: i64 = 24 * 60 * 60;

/// Backups are taken at least this long apart. A little under a day, so an hourly check does
/// not push each day's backup an hour later than the one before.
const BACKUP_SPACING: i64 = DAY - 30 * 60;

const PREFIX: &str = "avisa-";
const SUFFIX: &str = ".redb.zst";

/// The file name of a scheduled backup taken at `now`: `avisa-20250501T151851Z.redb.zst`.
/// Names sort in time order and carry their time, so the directory itself is the schedule.
pub fn backup_file_name(now: i64) -> String {
    let at = Timestamp::from_second(now).unwrap_or(Timestamp::UNIX_EPOCH);
    format!("{PREFIX}{}{SUFFIX}", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// When the backup named `name` was taken, if the name is one of ours.
pub fn backup_time(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let parsed = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", stamp).ok()?;
    let civil = parsed.to_datetime().ok()?;
    Some(
        civil
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_second(),
    )
}

/// Whether a scheduled backup is due, given the names of the files in the backup directory.
pub fn backup_due(names: &[String], now: i64) -> bool {
    names
        .iter()
        .filter_map(|n| backup_time(n))
        .max()
        .is_none_or(|newest| now - newest >= BACKUP_SPACING)
}

/// The scheduled backups to delete so that the newest `keep` (at least one) remain. Files that
/// are not scheduled backups (an operator's own copies) are never named.
pub fn backups_to_prune(names: &[String], keep: u32) -> Vec<String> {
    let mut ours: Vec<(i64, &String)> = names
        .iter()
        .filter_map(|n| backup_time(n).map(|t| (t, n)))
        .collect();
    ours.sort_by(|a, b| b.cmp(a));
    ours.into_iter()
        .skip(keep.max(1) as usize)
        .map(|(_, n)| n.clone())
        .collect()
}

/// Records received before this instant are past a retention of `days` (0 keeps them forever).
pub fn retention_cutoff(now: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| now - i64::from(days) * DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAY_1: i64 = 1_746_112_731; // 2025-05-01T15:18:51Z

    fn names(times: &[i64]) -> Vec<String> {
        times.iter().map(|t| backup_file_name(*t)).collect()
    }

    #[test]
    fn names_carry_their_time() {
        let name = backup_file_name(MAY_1);
        assert_eq!(name, "avisa-20250501T151851Z.redb.zst");
        assert_eq!(backup_time(&name), Some(MAY_1));
        assert_eq!(backup_time("avisa-manual.redb.zst"), None);
        assert_eq!(backup_time("notes.txt"), None);
    }

    #[test]
    fn a_backup_is_due_daily() {
        assert!(backup_due(&[], MAY_1), "first backup at once");
        let taken = names(&[MAY_1 - 3 * DAY, MAY_1]);
        assert!(!backup_due(&taken, MAY_1 + 3600));
        assert!(!backup_due(&taken, MAY_1 + DAY - 3600));
        assert!(
            backup_due(&taken, MAY_1 + DAY - 1800),
            "hourly checks keep the hour"
        );
        assert!(backup_due(&taken, MAY_1 + 5 * DAY));
        let foreign = vec!["mine.redb.zst".to_owned()];
        assert!(backup_due(&foreign, MAY_1), "other files do not count");
    }

    #[test]
    fn pruning_keeps_the_newest_and_ignores_other_files() {
        let mut all = names(&[MAY_1 - 2 * DAY, MAY_1, MAY_1 - DAY, MAY_1 - 3 * DAY]);
        all.push("antes-da-migracao.redb.zst".to_owned());
        let pruned = backups_to_prune(&all, 2);
        assert_eq!(pruned, names(&[MAY_1 - 2 * DAY, MAY_1 - 3 * DAY]));
        assert_eq!(backups_to_prune(&all, 10), Vec::<String>::new());
        assert_eq!(backups_to_prune(&all, 0).len(), 3, "at least one is kept");
    }

    #[test]
    fn retention_counts_whole_days_back_from_now() {
        assert_eq!(retention_cutoff(MAY_1, 180), Some(MAY_1 - 180 * DAY));
        assert_eq!(retention_cutoff(MAY_1, 0), None);
    }
}
