//! Login throttling. Failures are counted per account *and* client address (a guesser at one
//! address waits after a few tries at one account) and per account from anywhere (many addresses
//! guessing one account make it "under attack"; then everyone waits). The right password of an
//! account nobody is guessing is never refused, whatever its neighbours behind the same proxy do.
//!
//! An attempt is counted when it starts (`begin`), under the same lock as the check, so parallel
//! guesses cannot all pass the check before any of them is recorded; a success gives its count
//! back. Kept in memory: a restart forgets, which is fine for throttling guessers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Bounds each table so a flood of addresses or e-mails cannot grow memory without limit.
const MAX_TRACKED: usize = 10_000;

/// Failures at one account from one address before that address waits.
pub const PER_CLIENT: u32 = 5;
/// Failures at one account from any address before the account waits for everyone.
pub const PER_ACCOUNT: u32 = 20;
/// How long a count lasts, from its first failure.
pub const WINDOW_SECS: i64 = 15 * 60;

/// A count of failures since `since` (unix seconds).
#[derive(Clone, Copy, Debug)]
struct Count {
    failures: u32,
    since: i64,
}

#[derive(Default)]
struct Tables {
    pairs: HashMap<(String, IpAddr), Count>,
    accounts: HashMap<String, Count>,
}

pub struct LoginThrottle {
    per_client: u32,
    per_account: u32,
    window_secs: i64,
    tables: Mutex<Tables>,
}

/// An attempt in progress: counted as a failure until `succeeded` gives it back.
#[derive(Debug)]
pub struct Attempt {
    account: String,
    client: IpAddr,
}

impl LoginThrottle {
    pub fn new(per_client: u32, per_account: u32, window_secs: i64) -> LoginThrottle {
        LoginThrottle {
            per_client,
            per_account,
            window_secs,
            tables: Mutex::new(Tables::default()),
        }
    }

    /// Starts an attempt at `account` (the e-mail as typed) from `client`, counting it at once;
    /// `Err(seconds to wait)` when this address used up its tries at this account or the account
    /// is under attack.
    pub fn begin(&self, account: &str, client: IpAddr, now: i64) -> Result<Attempt, u64> {
        let account = normalise(account);
        let mut tables = self.lock();
        let window = self.window_secs;
        let pair_key = (account.clone(), client);
        let waits = [
            wait(tables.pairs.get(&pair_key), self.per_client, window, now),
            wait(tables.accounts.get(&account), self.per_account, window, now),
        ];
        if let Some(seconds) = waits.into_iter().flatten().max() {
            return Err(seconds);
        }
        count(&mut tables.pairs, pair_key, window, now);
        count(&mut tables.accounts, account.clone(), window, now);
        Ok(Attempt { account, client })
    }

    /// The attempt was right: this address starts afresh at this account, and the account-wide
    /// count gets this attempt back (other addresses' failures stay counted).
    pub fn succeeded(&self, attempt: Attempt) {
        let mut tables = self.lock();
        tables
            .pairs
            .remove(&(attempt.account.clone(), attempt.client));
        if let Some(count) = tables.accounts.get_mut(&attempt.account) {
            count.failures = count.failures.saturating_sub(1);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables
            .lock()
            .expect("login throttle lock is never poisoned")
    }
}

/// E-mails compare without case or surrounding blanks, as the accounts table does.
fn normalise(account: &str) -> String {
    account.trim().to_lowercase()
}

/// Seconds left to wait when `count` reached `max` within the window.
fn wait(count: Option<&Count>, max: u32, window: i64, now: i64) -> Option<u64> {
    let count = count?;
    let age = now - count.since;
    (count.failures >= max && age < window).then(|| (window - age).max(1) as u64)
}

fn count<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Count>, key: K, window: i64, now: i64) {
    if map.len() >= MAX_TRACKED && !map.contains_key(&key) {
        map.retain(|_, c| now - c.since < window);
        if map.len() >= MAX_TRACKED {
            // Still full of live counts: forget the smallest ones (a flood of one-off guesses),
            // keeping the ones close to their limit.
            let mut failures: Vec<u32> = map.values().map(|c| c.failures).collect();
            failures.sort_unstable();
            let cut = failures[failures.len() / 2];
            map.retain(|_, c| c.failures > cut);
        }
    }
    let entry = map.entry(key).or_insert(Count {
        failures: 0,
        since: now,
    });
    if now - entry.since >= window {
        *entry = Count {
            failures: 0,
            since: now,
        };
    }
    entry.failures += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_address_waits_at_one_account_after_too_many_failures_until_the_window_passes() {
        let throttle = LoginThrottle::new(3, 20, 600);
        for t in 0..3 {
            throttle
                .begin("dona@loja", ip("10.0.0.1"), t)
                .expect("allowed");
        }
        assert_eq!(
            throttle.begin("dona@loja", ip("10.0.0.1"), 10).err(),
            Some(590)
        );
        assert_eq!(
            throttle.begin("DONA@loja ", ip("10.0.0.1"), 10).err(),
            Some(590)
        );
        // Another address at the same account, and the same address at another account, go on.
        assert!(throttle.begin("dona@loja", ip("10.0.0.2"), 10).is_ok());
        assert!(throttle.begin("caixa@loja", ip("10.0.0.1"), 10).is_ok());
        assert!(throttle.begin("dona@loja", ip("10.0.0.1"), 600).is_ok());
    }

    #[test]
    fn a_success_gives_its_count_back() {
        let throttle = LoginThrottle::new(2, 20, 600);
        throttle
            .begin("dona@loja", ip("10.0.0.1"), 0)
            .expect("first");
        let right = throttle
            .begin("dona@loja", ip("10.0.0.1"), 1)
            .expect("second");
        throttle.succeeded(right);
        throttle
            .begin("dona@loja", ip("10.0.0.1"), 2)
            .expect("counts start afresh");
        assert!(throttle.begin("dona@loja", ip("10.0.0.1"), 3).is_ok());
    }

    #[test]
    fn behind_one_proxy_address_a_guessed_account_never_locks_out_the_others() {
        // Every caller has the proxy's address (no trusted proxy configured).
        let throttle = LoginThrottle::new(5, 20, 600);
        let proxy = ip("127.0.0.1");
        for t in 0..100 {
            let _ = throttle.begin("dona@loja", proxy, t);
        }
        assert!(throttle.begin("dona@loja", proxy, 100).is_err());
        let right = throttle
            .begin("caixa@loja", proxy, 100)
            .expect("not under attack");
        throttle.succeeded(right);
    }

    #[test]
    fn many_addresses_guessing_one_account_put_it_under_attack_for_everyone() {
        let throttle = LoginThrottle::new(5, 20, 600);
        for n in 0..20u8 {
            throttle
                .begin("dona@loja", IpAddr::from([10, 0, 0, n]), 0)
                .expect("one try each");
        }
        assert_eq!(
            throttle.begin("dona@loja", ip("192.0.2.7"), 60).err(),
            Some(540)
        );
        assert!(throttle.begin("caixa@loja", ip("192.0.2.7"), 60).is_ok());
    }

    #[test]
    fn parallel_guesses_pass_the_check_at_most_the_limit_times() {
        let throttle = std::sync::Arc::new(LoginThrottle::new(5, 20, 600));
        let passed: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..50)
                .map(|_| {
                    let throttle = throttle.clone();
                    scope.spawn(move || throttle.begin("dona@loja", ip("10.0.0.1"), 0).is_ok())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .filter(|ok| *ok)
                .count()
        });
        assert_eq!(passed, 5);
    }

    #[test]
    fn a_flood_of_accounts_stays_bounded() {
        let throttle = LoginThrottle::new(5, 20, 600);
        for n in 0..(MAX_TRACKED as u32 + 500) {
            let _ = throttle.begin(&format!("x{n}@e"), ip("10.0.0.1"), 0);
        }
        let tables = throttle.lock();
        assert!(tables.pairs.len() <= MAX_TRACKED);
        assert!(tables.accounts.len() <= MAX_TRACKED);
    }
}
