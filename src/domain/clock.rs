//! Time is passed in: code that needs "now" takes a `Clock`, so tests step time instead of sleeping.
//! The only module allowed to read the machine's clock (`clippy.toml` forbids it elsewhere).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time, in Unix seconds.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one sanctioned wall-clock read: everything else receives this through `Clock`, so a
    // test can swap in a `ManualClock` (clippy.toml's disallowed-methods points here).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> i64 {
        jiff::Timestamp::now().as_second()
    }
}

/// A clock tests set and advance by hand.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(unix: i64) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(unix)))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
