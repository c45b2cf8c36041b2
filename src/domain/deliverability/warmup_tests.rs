//! The warm-up ramp with a stepped clock: each Brasília day allows the schedule's next figure.

use super::warmup::{DEFAULT_SCHEDULE, WarmUp};
use crate::domain::{Clock as _, Instance, InstanceMode, ManualClock};

/// 2025-11-18 12:00 in Brasília (a Tuesday).
const NOON: i64 = 1_763_478_000;
const DAY: i64 = 24 * 3600;

#[test]
fn the_ramp_allows_the_schedule_day_by_day_then_the_daily_limit() {
    let clock = ManualClock::at(NOON);
    let mut instance = Instance::new("Loja", InstanceMode::Whatsapp, NOON);
    instance.daily_limit = 1000;
    instance.warmup = WarmUp::starting(NOON);
    let mut seen = Vec::new();
    for _ in 0..12 {
        seen.push(instance.allowance(clock.now()));
        clock.advance(DAY);
    }
    let mut expected: Vec<Option<u32>> = DEFAULT_SCHEDULE.iter().map(|n| Some(*n)).collect();
    expected.extend([Some(1000), Some(1000)]);
    assert_eq!(seen, expected);
}

#[test]
fn a_day_turns_at_midnight_in_brasilia() {
    let warm = WarmUp::starting(NOON);
    // 23:59 the same day, then 00:00 the next (Brasília is UTC-3).
    let midnight = NOON + 12 * 3600;
    assert_eq!(warm.allowance(midnight - 60), Some(20));
    assert_eq!(warm.day_index(midnight), Some(1));
    assert_eq!(warm.allowance(midnight + 2 * DAY), Some(40));
}

#[test]
fn the_ramp_never_raises_a_lower_daily_limit_and_is_off_unless_new() {
    let mut instance = Instance::new("Loja", InstanceMode::Whatsapp, NOON);
    instance.daily_limit = 30;
    instance.warmup = WarmUp::starting(NOON);
    assert_eq!(instance.allowance(NOON + 4 * DAY), Some(30));
    instance.warmup.new_number = false;
    assert_eq!(instance.allowance(NOON), Some(30));
    instance.daily_limit = 0;
    assert_eq!(instance.allowance(NOON), None, "no limit, no ramp");
}

#[test]
fn the_daily_limit_check_honours_the_ramp() {
    let mut instance = Instance::new("Loja", InstanceMode::Whatsapp, NOON);
    instance.warmup = WarmUp::starting(NOON);
    instance.sent_day = crate::domain::sending::local_day(NOON).to_string();
    instance.sent_today = 19;
    assert!(!instance.daily_limit_reached(NOON));
    instance.sent_today = 20;
    assert!(instance.daily_limit_reached(NOON));
}

#[test]
fn a_slowed_instance_gets_half_the_allowance_and_twice_the_interval() {
    let mut instance = Instance::new("Loja", InstanceMode::Whatsapp, NOON);
    instance.daily_limit = 300;
    instance.health.level = super::Level::Slowed;
    assert_eq!(instance.allowance(NOON), Some(150));
    assert_eq!(instance.effective_pacing().interval_s, 60);
    instance.warmup = WarmUp::starting(NOON);
    assert_eq!(instance.allowance(NOON), Some(10));
}

#[test]
fn the_schedule_is_read_from_the_form() {
    assert_eq!(
        WarmUp::parse_schedule("20, 40 → 80;150 300"),
        Ok(vec![20, 40, 80, 150, 300])
    );
    assert!(WarmUp::parse_schedule("").is_err());
    assert!(WarmUp::parse_schedule("20, muitos").is_err());
    assert!(WarmUp::parse_schedule("0").is_err());
    assert_eq!(
        WarmUp::default().schedule_text(),
        "20, 20, 40, 40, 80, 80, 150, 150, 300, 300"
    );
}
