//! A process-wide bell a background worker sleeps on: writers ring it when they queue work (the
//! outbound sender's deliveries, the enrichment jobs), the worker waits for a ring past the count
//! it saw before its pass, or a timeout. A spare ring only costs a spare pass.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub(super) struct Bell {
    rung: Mutex<u64>,
    cond: Condvar,
}

impl Bell {
    pub(super) const fn new() -> Self {
        Bell {
            rung: Mutex::new(0),
            cond: Condvar::new(),
        }
    }

    /// How many times the bell has rung: pass it to `wait` to sleep until the next ring.
    pub(super) fn rings(&self) -> u64 {
        *self.rung.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every waiter.
    pub(super) fn ring(&self) {
        let mut rung = self.rung.lock().unwrap_or_else(|e| e.into_inner());
        *rung += 1;
        self.cond.notify_all();
    }

    /// Blocks until the bell rings past `seen` or `timeout` passes (a blocking context only).
    pub(super) fn wait(&self, seen: u64, timeout: Duration) {
        let rung = self.rung.lock().unwrap_or_else(|e| e.into_inner());
        let _unused = self
            .cond
            .wait_timeout_while(rung, timeout, |rung| *rung == seen)
            .unwrap_or_else(|e| e.into_inner());
    }
}
