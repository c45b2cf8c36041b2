//! The throttle / pause policy as a table: counters and state in, the verdict out.

use super::health::{Counts, HealthDay};
use super::throttle::{HealthState, Level, SLOW_AFTER_TIMELOCK_S, Thresholds, Verdict, decide};

const NOW: i64 = 1_763_478_000;

fn state(level: Level, reason: &str) -> HealthState {
    HealthState {
        level,
        reason: reason.to_owned(),
        since: NOW - 3600,
        ..HealthState::default()
    }
}

fn counts(sent: u32, unanswered: u32, nacks_463: u32, nacks_other: u32) -> Counts {
    Counts {
        sent,
        unanswered,
        nacks_463,
        nacks_other,
        ..Counts::default()
    }
}

fn verdict(level: Level, reason: &'static str) -> Option<Verdict> {
    Some(Verdict { level, reason })
}

#[test]
fn the_policy_decides_from_the_counters_in_order() {
    let t = Thresholds::default();
    let normal = state(Level::Normal, "");
    let slowed = state(Level::Slowed, "nacks_463");
    let paused = state(Level::Paused, "nacks");
    let mut locked = state(Level::Paused, "timelock");
    locked.timelock_until = Some(NOW + 600);
    let mut lock_over = state(Level::Paused, "timelock");
    lock_over.timelock_until = Some(NOW - 1);
    let mut lock_new = state(Level::Normal, "");
    lock_new.timelock_until = Some(NOW + 600);
    let mut just_unlocked = state(Level::Slowed, "timelock_ended");
    just_unlocked.since = NOW - 60;
    let mut unlocked_yesterday = state(Level::Slowed, "timelock_ended");
    unlocked_yesterday.since = NOW - SLOW_AFTER_TIMELOCK_S;
    #[rustfmt::skip]
    let table: Vec<(&str, Counts, &HealthState, Option<Verdict>)> = vec![
        ("quiet and healthy stays normal", counts(0, 0, 0, 0), &normal, None),
        ("many sends, most answered", counts(200, 100, 0, 0), &normal, None),
        ("one 463 slows", counts(10, 5, 1, 0), &normal, verdict(Level::Slowed, "nacks_463")),
        ("two other nacks do not", counts(10, 5, 0, 2), &normal, None),
        ("three other nacks slow", counts(10, 5, 0, 3), &normal, verdict(Level::Slowed, "nacks")),
        ("90% unanswered over 50 sends slows", counts(50, 45, 0, 0), &normal, verdict(Level::Slowed, "unanswered")),
        ("89% unanswered does not", counts(100, 89, 0, 0), &normal, None),
        ("100% unanswered under 50 sends is not judged", counts(49, 49, 0, 0), &normal, None),
        ("all unanswered never pauses by default", counts(500, 500, 0, 0), &slowed, None),
        ("three 463s pause", counts(10, 5, 3, 0), &slowed, verdict(Level::Paused, "nacks_463")),
        ("six nacks of any code pause", counts(10, 5, 1, 5), &normal, verdict(Level::Paused, "nacks")),
        ("six other nacks pause", counts(10, 5, 0, 6), &normal, verdict(Level::Paused, "nacks")),
        ("an active timelock pauses", counts(0, 0, 0, 0), &lock_new, verdict(Level::Paused, "timelock")),
        ("paused by a timelock stays while it lasts", counts(0, 0, 0, 0), &locked, None),
        ("a timelock that ended resumes slowed", counts(0, 0, 0, 0), &lock_over, verdict(Level::Slowed, "timelock_ended")),
        ("slowed after a timelock for a day", counts(0, 0, 0, 0), &just_unlocked, None),
        ("after that day the counters decide", counts(0, 0, 0, 0), &unlocked_yesterday, verdict(Level::Normal, "recovered")),
        ("paused by nacks waits for the merchant", counts(0, 0, 0, 0), &paused, None),
        ("slowed recovers when the window is clean", counts(30, 3, 0, 0), &slowed, verdict(Level::Normal, "recovered")),
        ("slowed stays slowed while it lasts", counts(30, 3, 1, 0), &slowed, None),
    ];
    for (name, counts, state, expected) in table {
        assert_eq!(decide(&counts, &t, state, NOW), expected, "{name}");
    }
}

#[test]
fn a_threshold_of_zero_is_off() {
    let t = Thresholds {
        slow_463: 0,
        pause_463: 0,
        ..Thresholds::default()
    };
    assert_eq!(
        decide(&counts(10, 0, 2, 0), &t, &state(Level::Normal, ""), NOW),
        None
    );
}

fn day(sent: u32, nacks_463: u32) -> HealthDay {
    HealthDay {
        sent,
        nacks: if nacks_463 > 0 {
            [("463".to_owned(), nacks_463)].into()
        } else {
            Default::default()
        },
        ..HealthDay::default()
    }
}

#[test]
fn the_window_is_the_last_days_and_nothing_before_the_merchant_resumed() {
    let t = Thresholds::default();
    let days = vec![(100, day(5, 1)), (106, day(7, 1)), (107, day(3, 2))];
    let mut s = HealthState::default();
    let all = s.window(&days, 107, &t);
    assert_eq!(
        (all.sent, all.nacks_463),
        (10, 3),
        "day 100 left the 7-day window"
    );
    s.resume(107, Counts::of([&days[2].1]), NOW);
    assert_eq!(s.level, Level::Normal);
    assert_eq!(s.log.last().map(|l| l.reason.as_str()), Some("merchant"));
    let after = s.window(&days, 107, &t);
    assert_eq!(
        (after.sent, after.nacks_463),
        (0, 0),
        "what the merchant saw is forgiven"
    );
    let later = vec![(107, day(5, 3))];
    let judged = s.window(&later, 107, &t);
    assert_eq!(
        (judged.sent, judged.nacks_463),
        (2, 1),
        "what came after still counts"
    );
}

#[test]
fn the_log_keeps_the_latest_decisions() {
    let mut s = HealthState::default();
    for i in 0..60 {
        s.apply(
            &Verdict {
                level: Level::Slowed,
                reason: "nacks",
            },
            NOW + i,
        );
    }
    assert_eq!(s.log.len(), super::throttle::LOG_LEN);
    assert_eq!(s.log.last().map(|l| l.at), Some(NOW + 59));
}
