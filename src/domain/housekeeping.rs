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

/// Compaction runs at night in Brasília, between these hours (local, start inclusive).
pub const COMPACTION_HOURS: (i8, i8) = (3, 6);
/// ... when nothing arrived and nothing was due for this long before (and nothing is due for
/// this long after): the merchant is quiet, so the seconds every call waits go unnoticed.
pub const QUIET_S: i64 = 30 * 60;
/// ... at most once in this long.
const COMPACTION_SPACING: i64 = DAY - 3 * 60 * 60;

/// Whether to compact the data file now: at night in Brasília, at most about once a day, only
/// when the last compaction's result has been eaten into (retention deleted something since, or
/// none ran since start-up), and only when no event arrived in the last `QUIET_S` and no message
/// is due within `QUIET_S` of now.
pub fn compaction_due(
    now: i64,
    last_compaction: Option<i64>,
    deleted_since: bool,
    last_event_at: Option<i64>,
    message_due_near: bool,
) -> bool {
    let Ok(at) = Timestamp::from_second(now) else {
        return false;
    };
    let hour = at
        .to_zoned(jiff::tz::TimeZone::get("America/Sao_Paulo").expect("bundled time zone"))
        .hour();
    let night = (COMPACTION_HOURS.0..COMPACTION_HOURS.1).contains(&hour);
    let spaced = last_compaction.is_none_or(|last| now - last >= COMPACTION_SPACING);
    let worth = deleted_since || last_compaction.is_none();
    let quiet = !message_due_near && last_event_at.is_none_or(|t| now - t >= QUIET_S);
    night && spaced && worth && quiet
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

    #[test]
    fn compaction_waits_for_a_quiet_night_in_brasilia() {
        // 2025-05-02 04:00 in Brasília (UTC-3) is 07:00Z.
        let night = 1_746_169_200;
        assert_eq!(backup_file_name(night), "avisa-20250502T070000Z.redb.zst");
        let quiet_event = Some(night - QUIET_S);
        assert!(
            compaction_due(night, None, false, quiet_event, false),
            "first night after start"
        );
        assert!(
            compaction_due(night, None, false, None, false),
            "an empty file"
        );
        assert!(
            !compaction_due(night + 3 * 3600, None, false, None, false),
            "07:00 is day"
        );
        assert!(
            !compaction_due(night - 2 * 3600, None, false, None, false),
            "02:00 is too early"
        );
        assert!(
            !compaction_due(night, None, false, Some(night - QUIET_S + 1), false),
            "a webhook 29 min ago"
        );
        assert!(
            !compaction_due(night, None, false, quiet_event, true),
            "a message due near now"
        );
        assert!(
            !compaction_due(night, Some(night - DAY), false, quiet_event, false),
            "nothing deleted since"
        );
        assert!(
            compaction_due(night, Some(night - DAY), true, quiet_event, false),
            "retention deleted"
        );
        assert!(
            !compaction_due(night, Some(night - 3600), true, quiet_event, false),
            "once a night"
        );
    }
}
