//! The reachout timelock: WhatsApp's temporary block on messages to people who never wrote to
//! the number (the cause behind many 463 nacks). The channel asks WhatsApp for it (the library's
//! `mex().fetch_reachout_timelock()`) when a number is paired, when it logs in, after a 463 and
//! once a day; these rules say when to ask and what the answer means. The throttle policy
//! (`decide`) pauses while a timelock runs and brings the number back by itself when it ends.

/// Why the channel would ask now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The number was just paired: a new account, ask at once.
    Paired,
    /// A paired number logged in (start, reconnect).
    LoggedIn,
    /// WhatsApp refused a message with 463.
    Nack463,
    /// The daily look.
    Daily,
}

/// Asked at most this often on login and by the daily look.
pub const DAILY_S: i64 = 24 * 3600;

/// After a 463, asked again only if the last answer is older than this: a burst of refusals
/// asks once.
pub const AFTER_463_S: i64 = 10 * 60;

/// How long an active timelock without an end is assumed to last (asked again daily).
pub const UNKNOWN_END_S: i64 = DAILY_S;

/// Whether to ask WhatsApp now, given when it last answered (`None`: never).
pub fn due(check: Check, last: Option<i64>, now: i64) -> bool {
    let older_than = |s: i64| last.is_none_or(|at| now - at >= s || now < at);
    match check {
        Check::Paired => true,
        Check::Nack463 => older_than(AFTER_463_S),
        Check::LoggedIn | Check::Daily => older_than(DAILY_S),
    }
}

/// The end of the timelock WhatsApp reported (`is_active`, `time_enforcement_ends` as its
/// GraphQL answer gives them: Unix seconds, or milliseconds, as text), or `None` when there is
/// none. An active one without a readable end is taken to last [`UNKNOWN_END_S`]; one whose
/// end already passed is none.
pub fn until(is_active: Option<bool>, ends: Option<&str>, now: i64) -> Option<i64> {
    if is_active != Some(true) {
        return None;
    }
    let end = ends
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(|n| if n > 100_000_000_000 { n / 1000 } else { n });
    match end {
        Some(end) if end > now => Some(end),
        Some(_) => None,
        None => Some(now + UNKNOWN_END_S),
    }
}
