//! What `/metrics` shows of the outbox: attempts by outcome and the due-to-sent latency, as
//! Prometheus text. Plain counters, no I/O.

/// What `/metrics` shows of the outbox: attempts by outcome and the due-to-sent latency.
#[derive(Default)]
pub struct OutboxMetrics {
    outcomes: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// Counts of sends whose due-to-sent latency was at most each bound (seconds).
    latency_le: [std::sync::atomic::AtomicU64; LATENCY_BOUNDS.len()],
    latency_sum_s: std::sync::atomic::AtomicU64,
    latency_count: std::sync::atomic::AtomicU64,
}

/// Histogram bounds for due → sent, in seconds (pacing makes minutes normal).
const LATENCY_BOUNDS: [u64; 8] = [1, 5, 30, 60, 300, 1800, 3600, 86_400];

impl OutboxMetrics {
    pub(super) fn count(&self, outcome: &'static str, n: usize) {
        if n > 0 {
            *self
                .outcomes
                .lock()
                .expect("metrics lock")
                .entry(outcome)
                .or_default() += n as u64;
        }
    }

    pub(super) fn observe_latency(&self, seconds: i64) {
        use std::sync::atomic::Ordering::Relaxed;
        let s = seconds.max(0) as u64;
        for (bound, slot) in LATENCY_BOUNDS.iter().zip(&self.latency_le) {
            if s <= *bound {
                slot.fetch_add(1, Relaxed);
            }
        }
        self.latency_sum_s.fetch_add(s, Relaxed);
        self.latency_count.fetch_add(1, Relaxed);
    }

    /// Prometheus exposition text.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        use std::sync::atomic::Ordering::Relaxed;
        let mut out = String::from(
            "# HELP avisa_outbox_attempts_total Outbox outcomes (sent, retried, failed, expired, canceled).\n# TYPE avisa_outbox_attempts_total counter\n",
        );
        for (outcome, n) in self.outcomes.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "avisa_outbox_attempts_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP avisa_send_latency_seconds From due to sent.\n# TYPE avisa_send_latency_seconds histogram\n");
        for (bound, slot) in LATENCY_BOUNDS.iter().zip(&self.latency_le) {
            let _ = writeln!(
                out,
                "avisa_send_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                slot.load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(
            out,
            "avisa_send_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "avisa_send_latency_seconds_sum {}",
            self.latency_sum_s.load(Relaxed)
        );
        let _ = writeln!(out, "avisa_send_latency_seconds_count {count}");
        out
    }
}
