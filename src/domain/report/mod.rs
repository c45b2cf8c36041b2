//! Report rules, pure: the Brasília day numbers reports count in, the periods the Relatórios page
//! offers, which recovery message a payment is credited to (attribution), and what each message
//! and credited payment counts (`counters`). `db` keeps the stored counters in step with them.

mod counters;
#[cfg(test)]
mod counters_tests;

use jiff::civil::Date;

pub use counters::{
    BuyerKey, CANCEL_REASONS, COUNTERS, Contribution, Counter, Counters, DayKey, Recovery,
    cancel_counter, contribution, message_day, phone_number, sent_at,
};

/// The attribution window when the merchant has not chosen one (days).
pub const DEFAULT_ATTRIBUTION_DAYS: u32 = 7;

/// A Brasília calendar day as a number: days since 1970-01-01 (so ranges of days are ranges of
/// integers in storage keys).
pub fn day_number(unix: i64) -> i32 {
    date_number(super::sending::local_day(unix))
}

pub fn date_number(date: Date) -> i32 {
    Date::constant(1970, 1, 1)
        .until(date)
        .map(|span| span.get_days())
        .unwrap_or_default()
}

/// The date of a day number.
pub fn day_date(day: i32) -> Date {
    Date::constant(1970, 1, 1)
        .checked_add(jiff::Span::new().days(i64::from(day)))
        .unwrap_or_default()
}

/// A span of whole days, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub first: i32,
    pub last: i32,
}

impl Period {
    /// The `days` days ending today (1 = today only).
    pub fn last_days(now: i64, days: u32) -> Period {
        let today = day_number(now);
        Period {
            first: today - (days.max(1) as i32 - 1),
            last: today,
        }
    }

    /// A custom span, in order; `None` when longer than `max_days`.
    pub fn between(a: Date, b: Date, max_days: u32) -> Option<Period> {
        let (a, b) = (date_number(a), date_number(b));
        let period = Period {
            first: a.min(b),
            last: a.max(b),
        };
        (period.days() <= max_days).then_some(period)
    }

    pub fn days(self) -> u32 {
        (self.last - self.first + 1) as u32
    }

    pub fn contains(self, day: i32) -> bool {
        (self.first..=self.last).contains(&day)
    }
}

/// The recovery message a payment at `paid_at` is credited to: of the recovery messages that
/// went out (`(sent_at, message)`), the last one sent at or before the payment and no more than
/// `window_s` before it. A payment before any message, or long after the last one, is credited
/// to none: the buyer paid on their own.
pub fn credited<T>(
    paid_at: i64,
    window_s: i64,
    sent: impl IntoIterator<Item = (i64, T)>,
) -> Option<(i64, T)> {
    sent.into_iter()
        .filter(|(at, _)| *at <= paid_at && paid_at - *at <= window_s)
        .max_by_key(|(at, _)| *at)
}

/// `part` of `whole` as a percentage with one decimal, `None` when `whole` is zero.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn day_numbers_turn_at_midnight_in_brasilia() {
        // 2026-11-21 02:59 UTC is still the 20th in Brasília.
        let late = 1_795_229_940;
        assert_eq!(day_number(late) + 1, day_number(late + 60));
        assert_eq!(day_date(day_number(late)).to_string(), "2026-11-20");
        assert_eq!(
            day_number(0),
            -1,
            "1970-01-01 00:00 UTC is still the 31st in Brasília"
        );
    }

    #[test]
    fn periods_count_whole_days_including_today() {
        let now = 1_795_230_000;
        let week = Period::last_days(now, 7);
        assert_eq!(week.days(), 7);
        assert_eq!(week.last, day_number(now));
        assert!(week.contains(day_number(now - 6 * DAY)));
        assert!(!week.contains(day_number(now - 7 * DAY)));
        let a = Date::constant(2026, 11, 30);
        let b = Date::constant(2026, 11, 1);
        assert_eq!(Period::between(a, b, 366).map(Period::days), Some(30));
        assert_eq!(Period::between(a, b, 10), None);
    }

    #[test]
    fn report_attribution_credits_the_last_message_inside_the_window() {
        let window = 7 * DAY;
        let paid = 100 * DAY;
        // (sent at, message), expected credit.
        type Case<'a> = (&'a [(i64, &'a str)], Option<&'a str>);
        let cases: &[Case] = &[
            (&[], None),
            // Paid before any message went out: the buyer paid on their own.
            (&[(paid + 60, "after")], None),
            // Sent long before the window.
            (&[(paid - 8 * DAY, "old")], None),
            // Inside the window, the window's edge included.
            (&[(paid - 7 * DAY, "edge")], Some("edge")),
            (&[(paid - DAY, "boleto")], Some("boleto")),
            // The last touch before the payment wins; one after it does not.
            (
                &[
                    (paid - 3 * DAY, "step 0"),
                    (paid - DAY, "step 1"),
                    (paid + DAY, "step 2"),
                ],
                Some("step 1"),
            ),
            // Sent the same second the payment came: it counts.
            (&[(paid, "same second")], Some("same second")),
        ];
        for (sent, expected) in cases {
            let got = credited(paid, window, sent.iter().copied()).map(|(_, m)| m);
            assert_eq!(got, *expected, "sent {sent:?}");
        }
    }

    #[test]
    fn rates_have_one_decimal_and_none_without_a_base() {
        assert_eq!(rate(1, 3), Some(33.3));
        assert_eq!(rate(2, 3), Some(66.7));
        assert_eq!(rate(5, 0), None);
    }
}
