//! The outbox: one loop per avisa that sleeps until the earliest due message (or a wake-up),
//! then, in due order, re-checks that each message is still wanted, waits for its instance
//! (linked, connected, outside quiet hours, under the daily limit, its pacing slot free), claims
//! it under a lease, sends it through the instance's channel and records the attempt.
//! Time and jitter are passed in: tests step a clock and never sleep.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};

use super::channel::{Receipt, SendError};
use super::channels::Channels;
use crate::db::{AttemptOutcome, Db, DbError, ReceiptStatus, blocking};
use crate::domain::sending::{EXPIRY_S, Failure, retry_delay};
use crate::domain::{Clock, MessageStatus};
use crate::domain::{Instance, InstanceMode, Message, Store};

/// How long a claimed message may stay "sending" before a restart treats it as maybe sent.
pub const LEASE_S: i64 = 120;
/// The most due messages one pass looks at.
const BATCH: usize = 1000;
/// The longest the loop sleeps without a reason (quiet hours end, reconnects, midnight).
const MAX_SLEEP_S: i64 = 60;

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub held: usize,
    pub retried: usize,
    pub failed: usize,
    pub expired: usize,
    pub canceled: usize,
    /// When the next pass has work (Unix seconds), if known.
    pub next_wake: Option<i64>,
}

/// Avisa's message id on the wire, so receipts find the message whatever address answers.
pub fn wire_id(message_id: u64) -> String {
    format!("AVISA{message_id}")
}

fn message_id_of(wire: &str) -> Option<u64> {
    wire.strip_prefix("AVISA")?.parse().ok()
}

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
    fn count(&self, outcome: &'static str, n: usize) {
        if n > 0 {
            *self
                .outcomes
                .lock()
                .expect("metrics lock")
                .entry(outcome)
                .or_default() += n as u64;
        }
    }

    fn observe_latency(&self, seconds: i64) {
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

pub struct Outbox {
    metrics: Arc<OutboxMetrics>,
    db: Db,
    channels: Arc<Channels>,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
    receipts: std::sync::Mutex<HashMap<u64, broadcast::Receiver<Receipt>>>,
}

/// Runs a storage call off the async workers: a transaction never spans an `.await`.
impl Outbox {
    /// `jitter` returns values in [0, 1); production passes a random source, tests a constant.
    pub fn new(
        db: Db,
        channels: Arc<Channels>,
        clock: Arc<dyn Clock>,
        jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
    ) -> Outbox {
        Outbox {
            metrics: Arc::default(),
            db,
            channels,
            clock,
            jitter,
            receipts: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The counters `/metrics` reads.
    pub fn metrics(&self) -> Arc<OutboxMetrics> {
        self.metrics.clone()
    }

    /// Start-up: every lease left in the file belongs to a process that died mid-send (the data
    /// file's lock guarantees no other avisa is running), so all of them are requeued once,
    /// flagged "maybe sent".
    pub async fn recover(&self) -> Result<usize, DbError> {
        let db = self.db.clone();
        blocking(move || db.requeue_expired_leases(i64::MAX)).await
    }

    /// One pass over the due messages.
    pub async fn run_once(&self) -> Result<Pass, DbError> {
        self.drain_receipts().await?;
        let now = self.clock.now();
        let db = self.db.clone();
        let due = blocking(move || db.due_messages(now, BATCH)).await?;
        let mut pass = Pass::default();
        let mut stores: HashMap<u64, Option<Store>> = HashMap::new();
        let mut instances: HashMap<u64, Option<Instance>> = HashMap::new();
        let mut used: HashSet<u64> = HashSet::new();
        for message in due {
            if now - message.due_at > EXPIRY_S {
                self.close(message.id, MessageStatus::Expired, "not_sent_within_48h")
                    .await?;
                pass.expired += 1;
                continue;
            }
            let db = self.db.clone();
            let checked = message.clone();
            if let Some(reason) = blocking(move || db.unwanted_reason(&checked)).await? {
                self.close(message.id, MessageStatus::Canceled, reason)
                    .await?;
                pass.canceled += 1;
                continue;
            }
            if message.test {
                // Test mode and test numbers: straight to the sandbox inbox, never to WhatsApp.
                self.deliver_to_sandbox(&message, now).await?;
                pass.sent += 1;
                continue;
            }
            let store = match stores.get(&message.store_id) {
                Some(s) => s.clone(),
                None => {
                    let db = self.db.clone();
                    let id = message.store_id;
                    let s = blocking(move || db.store(id)).await.ok();
                    stores.insert(id, s.clone());
                    s
                }
            };
            let Some(instance_id) = store.and_then(|s| s.instance_id) else {
                pass.held += 1; // Unlinked store: held until it is linked again.
                continue;
            };
            if used.contains(&instance_id) {
                pass.held += 1;
                continue;
            }
            let instance = match instances.get(&instance_id) {
                Some(i) => i.clone(),
                None => {
                    let db = self.db.clone();
                    let i = blocking(move || db.instance(instance_id)).await.ok();
                    instances.insert(instance_id, i.clone());
                    i
                }
            };
            let Some(instance) = instance else {
                pass.held += 1;
                continue;
            };
            let Some(channel) = self
                .channels
                .get(instance_id)
                .filter(|c| c.state().borrow().is_connected())
            else {
                pass.held += 1; // Disconnected: wait (the 48 h clock keeps running).
                continue;
            };
            if instance.quiet_hours.contains(now) || instance.daily_limit_reached(now) {
                pass.held += 1;
                continue;
            }
            if instance.next_slot > now {
                pass.held += 1;
                pass.next_wake = Some(
                    pass.next_wake
                        .map_or(instance.next_slot, |w| w.min(instance.next_slot)),
                );
                continue;
            }
            let lease_until = now + LEASE_S;
            let db = self.db.clone();
            let id = message.id;
            let Some(claimed) =
                blocking(move || db.claim_message(id, Some(instance_id), lease_until, now)).await?
            else {
                continue;
            };
            used.insert(instance_id);
            let outcome = match channel
                .send(&claimed.phone, &claimed.text, &wire_id(claimed.id))
                .await
            {
                Ok(receipt) => {
                    let at = if receipt.sent_at > 0 {
                        receipt.sent_at
                    } else {
                        now
                    };
                    pass.sent += 1;
                    self.metrics.observe_latency(at - claimed.due_at);
                    AttemptOutcome::Sent {
                        at,
                        sandbox: instance.mode == InstanceMode::Sandbox,
                        next_slot: instance.pacing.next_slot(at, (self.jitter)()),
                    }
                }
                Err(SendError::SessionUnavailable(reason)) => {
                    pass.held += 1;
                    AttemptOutcome::Hold {
                        reason: format!("session_unavailable: {reason}"),
                    }
                }
                Err(SendError::Permanent(reason)) => {
                    pass.failed += 1;
                    AttemptOutcome::Fail { reason }
                }
                Err(error @ (SendError::Transient(_) | SendError::RateLimited(_))) => {
                    let failure = if matches!(error, SendError::RateLimited(_)) {
                        Failure::RateLimited
                    } else {
                        Failure::Transient
                    };
                    match retry_delay(claimed.attempts + 1, failure, (self.jitter)()) {
                        Some(delay) => {
                            pass.retried += 1;
                            AttemptOutcome::Retry {
                                at: now + delay,
                                reason: error.to_string(),
                            }
                        }
                        None => {
                            pass.failed += 1;
                            AttemptOutcome::Fail {
                                reason: format!(
                                    "gave up after {} attempts: {error}",
                                    claimed.attempts + 1
                                ),
                            }
                        }
                    }
                }
            };
            let db = self.db.clone();
            blocking(move || db.record_attempt(id, lease_until, outcome, now)).await?;
        }
        for (outcome, n) in [
            ("sent", pass.sent),
            ("retried", pass.retried),
            ("failed", pass.failed),
            ("expired", pass.expired),
            ("canceled", pass.canceled),
        ] {
            self.metrics.count(outcome, n);
        }
        let db = self.db.clone();
        let next_due = blocking(move || db.due_messages(i64::MAX, 1))
            .await?
            .first()
            .map(|m| m.due_at);
        if let Some(due) = next_due.filter(|d| *d > now) {
            pass.next_wake = Some(pass.next_wake.map_or(due, |w| w.min(due)));
        }
        Ok(pass)
    }

    async fn close(
        &self,
        id: u64,
        status: MessageStatus,
        reason: &'static str,
    ) -> Result<(), DbError> {
        let db = self.db.clone();
        let now = self.clock.now();
        blocking(move || db.close_scheduled(id, status, reason, now)).await
    }

    async fn deliver_to_sandbox(&self, message: &Message, now: i64) -> Result<(), DbError> {
        let db = self.db.clone();
        let id = message.id;
        blocking(move || {
            let lease_until = now + LEASE_S;
            if db.claim_message(id, None, lease_until, now)?.is_some() {
                db.record_attempt(
                    id,
                    lease_until,
                    AttemptOutcome::Sent {
                        at: now,
                        sandbox: true,
                        next_slot: 0,
                    },
                    now,
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Applies the receipts every channel reported since the last pass.
    async fn drain_receipts(&self) -> Result<(), DbError> {
        let mut pending = Vec::new();
        {
            let mut subscriptions = self.receipts.lock().expect("receipts lock");
            for instance_id in self.channels.ids() {
                let rx = subscriptions.entry(instance_id).or_insert_with(|| {
                    self.channels
                        .get(instance_id)
                        .map(|c| c.receipts())
                        .unwrap_or_else(|| broadcast::channel(1).1)
                });
                while let Ok(receipt) = rx.try_recv() {
                    pending.push(receipt);
                }
            }
        }
        for receipt in pending {
            let db = self.db.clone();
            blocking(move || match receipt {
                Receipt::ServerAck { .. } => Ok(()),
                Receipt::ServerNack { message_id, reason } => match message_id_of(&message_id) {
                    Some(id) => db.apply_nack(id, &reason, jiff::Timestamp::now().as_second()),
                    None => Ok(()),
                },
                Receipt::Delivered { message_id, at } => match message_id_of(&message_id) {
                    Some(id) => db.apply_receipt(id, ReceiptStatus::Delivered, at),
                    None => Ok(()),
                },
                Receipt::Read { message_id, at } => match message_id_of(&message_id) {
                    Some(id) => db.apply_receipt(id, ReceiptStatus::Read, at),
                    None => Ok(()),
                },
            })
            .await?;
        }
        Ok(())
    }

    /// Runs passes forever: after each, sleeps until its next wake time, a wake-up, or a minute.
    pub fn spawn(self, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            match self.recover().await {
                Ok(n) if n > 0 => tracing::warn!(
                    messages = n,
                    "requeued messages whose send was interrupted (maybe sent)"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "lease recovery failed"),
            }
            loop {
                let sleep_s = match self.run_once().await {
                    Ok(pass) => {
                        if pass.sent + pass.failed + pass.expired + pass.canceled > 0 {
                            tracing::info!(
                                sent = pass.sent,
                                failed = pass.failed,
                                expired = pass.expired,
                                canceled = pass.canceled,
                                held = pass.held,
                                "outbox pass"
                            );
                        }
                        let now = self.clock.now();
                        if pass.sent + pass.retried + pass.failed > 0 {
                            // Work was done: more may be ready at once (other messages, other
                            // instances); pacing holds what is not.
                            0
                        } else {
                            pass.next_wake
                                .map_or(MAX_SLEEP_S, |w| (w - now).clamp(1, MAX_SLEEP_S))
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "outbox pass failed");
                        5
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(sleep_s as u64)) => {}
                    _ = wake.notified() => {}
                }
            }
        })
    }
}
