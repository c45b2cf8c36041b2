//! When the channel asks WhatsApp for the reachout timelock, and what its answer means.

use super::timelock::{AFTER_463_S, Check, DAILY_S, UNKNOWN_END_S, due, until};

const NOON: i64 = 1_763_478_000;

#[test]
fn when_to_ask_for_the_timelock() {
    let cases: [(Check, Option<i64>, bool, &str); 10] = [
        (Check::Paired, Some(NOON), true, "a new pairing always asks"),
        (Check::LoggedIn, None, true, "never asked"),
        (
            Check::LoggedIn,
            Some(NOON - 3600),
            false,
            "a reconnect within the day",
        ),
        (Check::LoggedIn, Some(NOON - DAILY_S), true, "a day later"),
        (
            Check::Daily,
            Some(NOON - DAILY_S + 1),
            false,
            "not yet a day",
        ),
        (Check::Daily, Some(NOON - DAILY_S), true, "once a day"),
        (
            Check::Nack463,
            Some(NOON - 60),
            false,
            "a burst of 463s asks once",
        ),
        (
            Check::Nack463,
            Some(NOON - AFTER_463_S),
            true,
            "a 463 ten minutes later",
        ),
        (Check::Nack463, None, true, "a 463 on a number never asked"),
        (
            Check::Daily,
            Some(NOON + 3600),
            true,
            "a clock that went back asks",
        ),
    ];
    for (check, last, expected, why) in cases {
        assert_eq!(due(check, last, NOON), expected, "{why}");
    }
}

#[test]
fn what_whatsapps_answer_means() {
    let later = (NOON + 7200).to_string();
    let later_ms = ((NOON + 7200) * 1000).to_string();
    // (is_active, time_enforcement_ends, the end kept, why)
    type Case<'a> = (Option<bool>, Option<&'a str>, Option<i64>, &'a str);
    let cases: [Case; 7] = [
        (
            Some(true),
            Some(&later),
            Some(NOON + 7200),
            "active until then",
        ),
        (
            Some(true),
            Some(&later_ms),
            Some(NOON + 7200),
            "milliseconds too",
        ),
        (
            Some(true),
            None,
            Some(NOON + UNKNOWN_END_S),
            "no end: a day, asked again",
        ),
        (
            Some(true),
            Some("soon"),
            Some(NOON + UNKNOWN_END_S),
            "an unreadable end",
        ),
        (Some(true), Some("1000"), None, "an end in the past is none"),
        (Some(false), Some(&later), None, "not active"),
        (None, None, None, "no state"),
    ];
    for (active, ends, expected, why) in cases {
        assert_eq!(until(active, ends, NOON), expected, "{why}");
    }
}
