//! The rules an instance's settings follow, shared by the console forms and the JSON API: what
//! a valid name, mode, pacing, daily limit, quiet hours and typing time are, and how a checked
//! change is written. Pure checks plus one `Db` write; no actix types.

use crate::db::{Db, DbError};

use crate::domain::planning::QuietHours;
use crate::domain::{Instance, InstanceId, InstanceMode};

/// The longest instance name, in characters.
pub const MAX_NAME: usize = 80;
pub const MAX_INTERVAL_S: u64 = 3600;
/// Below 100 so a jittered interval never reaches zero.
pub const MAX_JITTER_PCT: u64 = 90;
pub const MAX_DAILY_LIMIT: u64 = 100_000;
pub const MAX_TYPING_S: u64 = 20;

/// Why an instance form or API body is refused; each is a catalog key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceInvalid {
    NameMissing,
    NameTooLong,
    Mode,
    Interval,
    Jitter,
    DailyLimit,
    QuietHours,
    Typing,
}

impl InstanceInvalid {
    pub const ALL: [InstanceInvalid; 8] = [
        InstanceInvalid::NameMissing,
        InstanceInvalid::NameTooLong,
        InstanceInvalid::Mode,
        InstanceInvalid::Interval,
        InstanceInvalid::Jitter,
        InstanceInvalid::DailyLimit,
        InstanceInvalid::QuietHours,
        InstanceInvalid::Typing,
    ];

    pub fn key(self) -> &'static str {
        match self {
            InstanceInvalid::NameMissing => "instances.error.name_missing",
            InstanceInvalid::NameTooLong => "instances.error.name_too_long",
            InstanceInvalid::Mode => "instances.error.mode",
            InstanceInvalid::Interval => "instances.error.interval",
            InstanceInvalid::Jitter => "instances.error.jitter",
            InstanceInvalid::DailyLimit => "instances.error.daily_limit",
            InstanceInvalid::QuietHours => "instances.error.quiet_hours",
            InstanceInvalid::Typing => "instances.error.typing",
        }
    }
}

/// A trimmed name of 1 to [`MAX_NAME`] characters.
pub fn check_name(name: &str) -> Result<String, InstanceInvalid> {
    let name = name.trim();
    if name.is_empty() {
        Err(InstanceInvalid::NameMissing)
    } else if name.chars().count() > MAX_NAME {
        Err(InstanceInvalid::NameTooLong)
    } else {
        Ok(name.to_owned())
    }
}

/// The mode a form or body names (`sandbox`, `whatsapp`).
pub fn parse_mode(mode: &str) -> Result<InstanceMode, InstanceInvalid> {
    match mode.trim() {
        "sandbox" => Ok(InstanceMode::Sandbox),
        "whatsapp" => Ok(InstanceMode::Whatsapp),
        _ => Err(InstanceInvalid::Mode),
    }
}

/// `HH:MM` (or `H:MM`) as minutes after midnight.
pub fn parse_hhmm(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Minutes after midnight as `HH:MM`.
pub fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A change to an instance's name, mode or rules; absent parts stay as they are. Numbers are
/// wide here so an out-of-range value is refused by the check, not by the parser.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceChange {
    pub name: Option<String>,
    pub mode: Option<InstanceMode>,
    pub interval_s: Option<u64>,
    pub jitter_pct: Option<u64>,
    pub daily_limit: Option<u64>,
    pub quiet_hours: Option<QuietHours>,
    pub typing_seconds: Option<u64>,
}

/// `InstanceChange` after its checks: every present value fits.
#[derive(Clone, Debug, Default)]
pub struct CheckedChange {
    name: Option<String>,
    mode: Option<InstanceMode>,
    interval_s: Option<u32>,
    jitter_pct: Option<u8>,
    daily_limit: Option<u32>,
    quiet_hours: Option<QuietHours>,
    typing_seconds: Option<u8>,
}

fn bounded<T: TryFrom<u64>>(
    value: Option<u64>,
    min: u64,
    max: u64,
    error: InstanceInvalid,
    errors: &mut Vec<InstanceInvalid>,
) -> Option<T> {
    let value = value?;
    match T::try_from(value) {
        Ok(v) if (min..=max).contains(&value) => Some(v),
        _ => {
            errors.push(error);
            None
        }
    }
}

impl CheckedChange {
    /// The mode changes: the instance needs another channel.
    pub fn changes_mode(&self) -> bool {
        self.mode.is_some()
    }
}

impl InstanceChange {
    /// Checks every part and reports all refusals at once.
    pub fn check(self) -> Result<CheckedChange, Vec<InstanceInvalid>> {
        let mut errors = Vec::new();
        let name = match self.name.as_deref().map(check_name).transpose() {
            Ok(name) => name,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let interval_s = bounded(
            self.interval_s,
            1,
            MAX_INTERVAL_S,
            InstanceInvalid::Interval,
            &mut errors,
        );
        let jitter_pct = bounded(
            self.jitter_pct,
            0,
            MAX_JITTER_PCT,
            InstanceInvalid::Jitter,
            &mut errors,
        );
        let daily_limit = bounded(
            self.daily_limit,
            0,
            MAX_DAILY_LIMIT,
            InstanceInvalid::DailyLimit,
            &mut errors,
        );
        let typing_seconds = bounded(
            self.typing_seconds,
            0,
            MAX_TYPING_S,
            InstanceInvalid::Typing,
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CheckedChange {
            name,
            mode: self.mode,
            interval_s,
            jitter_pct,
            daily_limit,
            quiet_hours: self.quiet_hours,
            typing_seconds,
        })
    }
}

/// Writes a checked change (call it off the async workers).
pub fn apply_change(db: &Db, id: InstanceId, change: CheckedChange) -> Result<Instance, DbError> {
    db.update_instance(id, |r| {
        if let Some(name) = change.name {
            r.name = name;
        }
        if let Some(mode) = change.mode {
            r.mode = mode;
        }
        if let Some(interval_s) = change.interval_s {
            r.pacing.interval_s = interval_s;
        }
        if let Some(jitter_pct) = change.jitter_pct {
            r.pacing.jitter_pct = jitter_pct;
        }
        if let Some(daily_limit) = change.daily_limit {
            r.daily_limit = daily_limit;
        }
        if let Some(quiet_hours) = change.quiet_hours {
            r.quiet_hours = quiet_hours;
        }
        if let Some(typing_seconds) = change.typing_seconds {
            r.typing_seconds = typing_seconds;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_hh_mm_within_a_day() {
        assert_eq!(parse_hhmm("21:00"), Some(1260));
        assert_eq!(parse_hhmm(" 8:05 "), Some(485));
        assert_eq!(parse_hhmm("00:00"), Some(0));
        for bad in [
            "24:00", "12:60", "1200", "12:5", "", "ab:cd", "-1:00", "123:00",
        ] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
        assert_eq!(hhmm(485), "08:05");
    }

    #[test]
    fn a_change_reports_every_refusal_at_once() {
        let change = InstanceChange {
            name: Some("  ".into()),
            interval_s: Some(0),
            jitter_pct: Some(95),
            daily_limit: Some(MAX_DAILY_LIMIT + 1),
            typing_seconds: Some(300),
            ..InstanceChange::default()
        };
        assert_eq!(
            change.check().map(|_| ()),
            Err(vec![
                InstanceInvalid::NameMissing,
                InstanceInvalid::Interval,
                InstanceInvalid::Jitter,
                InstanceInvalid::DailyLimit,
                InstanceInvalid::Typing,
            ])
        );
        let fine = InstanceChange {
            name: Some(" Loja ".into()),
            interval_s: Some(5),
            daily_limit: Some(0),
            ..InstanceChange::default()
        };
        let checked = fine.check().expect("valid");
        assert_eq!(checked.name.as_deref(), Some("Loja"));
        assert_eq!(checked.interval_s, Some(5));
    }

    #[test]
    fn every_instance_error_has_catalog_text_in_both_languages() {
        for (lang, _) in crate::http::ui::LANGUAGES {
            let keys = crate::http::ui::catalog_keys(lang);
            for e in InstanceInvalid::ALL {
                assert!(keys.iter().any(|k| k == e.key()), "{lang}: {}", e.key());
            }
        }
    }
}
