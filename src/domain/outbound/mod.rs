//! Outbound webhooks' model and rules, pure: the events avisa tells other systems about, an
//! endpoint (where, which events, its secret), a delivery (one event for one endpoint, its body
//! fixed when the change happened) with its attempts, the retry schedule as data with jitter
//! passed in, and the failure window after which an endpoint is disabled. Storage is
//! `db::outbound`; the sender is `queue::outbound`.

use serde::{Deserialize, Serialize};

use super::{DeliveryId, EndpointId, MessageStatus, StoreId};

/// Every event an endpoint can ask for, as the receiver sees its name (`type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutboundEvent {
    #[serde(rename = "event.received")]
    EventReceived,
    #[serde(rename = "message.planned")]
    MessagePlanned,
    #[serde(rename = "message.sent")]
    MessageSent,
    #[serde(rename = "message.delivered")]
    MessageDelivered,
    #[serde(rename = "message.read")]
    MessageRead,
    #[serde(rename = "message.failed")]
    MessageFailed,
    #[serde(rename = "message.canceled")]
    MessageCanceled,
    #[serde(rename = "buyer.replied")]
    BuyerReplied,
    #[serde(rename = "buyer.opted_out")]
    BuyerOptedOut,
    #[serde(rename = "instance.state")]
    InstanceState,
}

impl OutboundEvent {
    pub const ALL: [OutboundEvent; 10] = [
        OutboundEvent::EventReceived,
        OutboundEvent::MessagePlanned,
        OutboundEvent::MessageSent,
        OutboundEvent::MessageDelivered,
        OutboundEvent::MessageRead,
        OutboundEvent::MessageFailed,
        OutboundEvent::MessageCanceled,
        OutboundEvent::BuyerReplied,
        OutboundEvent::BuyerOptedOut,
        OutboundEvent::InstanceState,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboundEvent::EventReceived => "event.received",
            OutboundEvent::MessagePlanned => "message.planned",
            OutboundEvent::MessageSent => "message.sent",
            OutboundEvent::MessageDelivered => "message.delivered",
            OutboundEvent::MessageRead => "message.read",
            OutboundEvent::MessageFailed => "message.failed",
            OutboundEvent::MessageCanceled => "message.canceled",
            OutboundEvent::BuyerReplied => "buyer.replied",
            OutboundEvent::BuyerOptedOut => "buyer.opted_out",
            OutboundEvent::InstanceState => "instance.state",
        }
    }

    pub fn parse(name: &str) -> Option<OutboundEvent> {
        OutboundEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// What a message's write reports: a new message is planned; a change of status to one
    /// the receiver cares about is that status's event. `Queued`/`Sending` are internal steps
    /// and expiry is a failure the buyer never saw (reported as `message.failed`).
    pub fn for_message(before: Option<MessageStatus>, after: MessageStatus) -> Vec<OutboundEvent> {
        let Some(before) = before else {
            let mut out = vec![OutboundEvent::MessagePlanned];
            out.extend(OutboundEvent::for_status(after));
            return out;
        };
        if before == after {
            return Vec::new();
        }
        OutboundEvent::for_status(after).into_iter().collect()
    }

    fn for_status(status: MessageStatus) -> Option<OutboundEvent> {
        match status {
            MessageStatus::Scheduled | MessageStatus::Queued | MessageStatus::Sending => None,
            MessageStatus::Sent => Some(OutboundEvent::MessageSent),
            MessageStatus::Delivered => Some(OutboundEvent::MessageDelivered),
            MessageStatus::Read => Some(OutboundEvent::MessageRead),
            MessageStatus::Canceled => Some(OutboundEvent::MessageCanceled),
            MessageStatus::Failed | MessageStatus::Expired => Some(OutboundEvent::MessageFailed),
        }
    }
}

/// Where an endpoint's deliveries come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointDisabled {
    /// The admin switched it off.
    ByAdmin,
    /// Every attempt failed for `FAILURE_WINDOW_S`.
    Failing,
}

/// A receiver an admin registered: a URL, the events it wants, its signing secret, and, when it
/// is for one store, which (`None`: every store of this avisa).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: EndpointId,
    pub url: String,
    /// A name for the console ("n8n pós-venda").
    #[serde(default)]
    pub description: String,
    pub events: Vec<OutboundEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<StoreId>,
    /// `whsec_…`: the HMAC-SHA256 key, shown to admins only.
    pub secret: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<EndpointDisabled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<i64>,
    /// The first failed attempt since the last success: the failure window's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<i64>,
}

impl Endpoint {
    /// Whether a change about these stores (empty: about no store, e.g. an opt-out of a buyer
    /// with no message yet) goes to this endpoint as `event`.
    pub fn wants(&self, event: OutboundEvent, stores: &[StoreId]) -> bool {
        self.disabled.is_none()
            && self.events.contains(&event)
            && self.store_id.is_none_or(|s| stores.contains(&s))
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (`next_at`).
    Pending,
    /// A 2xx answered it.
    Delivered,
    /// The schedule ran out.
    Failed,
    /// Its endpoint was disabled or removed before it got through.
    Dropped,
}

/// One try: the receiver's status code (none when no answer came), the start of its body or
/// the reason no answer came.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The answer's body, cut at `MAX_RESPONSE_CHARS`, or why there was none.
    pub response: String,
}

/// One event for one endpoint. The body is fixed when the change happens, so every retry (and
/// "Reenviar") sends the same bytes with the same `id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub endpoint_id: EndpointId,
    pub event: OutboundEvent,
    /// The JSON the receiver gets, exactly.
    pub body: String,
    pub created_at: i64,
    pub state: DeliveryState,
    /// When the next attempt is due (while `Pending`).
    pub next_at: i64,
    /// Attempts since it was created or last resent: indexes `RETRY_SCHEDULE_S`.
    pub tries: u32,
    pub attempts: Vec<Attempt>,
    /// The buyer it names, if any (E.164): forgetting the buyer (LGPD) finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Delivery {
    /// The id the receiver sees, the same on every attempt.
    pub fn public_id(id: DeliveryId) -> String {
        format!("whd_{}", id.0)
    }
}

/// After the first attempt fails: wait 30 s, 2 min, 10 min, 1 h, 6 h, 24 h, then give up.
pub const RETRY_SCHEDULE_S: [i64; 6] = [30, 120, 600, 3_600, 6 * 3_600, 24 * 3_600];
/// Each wait grows by up to this share of itself (`jitter` in [0, 1), `spread`), so receivers
/// that came back are not hit by every delivery's retries in the same second.
pub const JITTER_SHARE: f64 = 0.2;
/// An endpoint whose every attempt failed for this long is disabled (with a dashboard alert).
pub const FAILURE_WINDOW_S: i64 = 3 * 86_400;
/// How long a claimed delivery is held before it is due again: the process died mid-call.
pub const LEASE_S: i64 = 60;
/// How much of a receiver's answer the log keeps.
pub const MAX_RESPONSE_CHARS: usize = 2_000;
/// The attempts a delivery keeps (resends append; the oldest go).
pub const MAX_ATTEMPTS_KEPT: usize = 20;

/// The jitter of a delivery's retries, in [0, 1): a hash of its id (splitmix64), so deliveries
/// queued in the same second spread out while every run of a test computes the same times.
pub fn spread(id: DeliveryId) -> f64 {
    let mut z = id.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// When the next try is due after `tries` failed ones (1 = the first attempt failed), or
/// `None` once the schedule is exhausted.
pub fn next_retry_at(tries: u32, now: i64, jitter: f64) -> Option<i64> {
    let wait = *RETRY_SCHEDULE_S.get(usize::try_from(tries).ok()?.checked_sub(1)?)?;
    let extra = (wait as f64 * JITTER_SHARE * jitter.clamp(0.0, 1.0)).floor() as i64;
    Some(now + wait + extra)
}

/// What a finished attempt does to its delivery and endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// Anything else: no answer, 3xx, 4xx, 5xx.
    Failed,
}

/// Applies an attempt's outcome: the delivery's state, next time and attempt log, and the
/// endpoint's failure window (disabling it when the window has run out). Returns whether the
/// endpoint was disabled by this attempt.
pub fn record_attempt(
    delivery: &mut Delivery,
    endpoint: &mut Endpoint,
    outcome: Outcome,
    attempt: Attempt,
    jitter: f64,
) -> bool {
    let now = attempt.at;
    delivery.attempts.push(attempt);
    if delivery.attempts.len() > MAX_ATTEMPTS_KEPT {
        let extra = delivery.attempts.len() - MAX_ATTEMPTS_KEPT;
        delivery.attempts.drain(..extra);
    }
    delivery.tries += 1;
    match outcome {
        Outcome::Delivered => {
            delivery.state = DeliveryState::Delivered;
            endpoint.failing_since = None;
            false
        }
        Outcome::Failed => {
            match next_retry_at(delivery.tries, now, jitter) {
                Some(at) => delivery.next_at = at,
                None => delivery.state = DeliveryState::Failed,
            }
            let since = *endpoint.failing_since.get_or_insert(now);
            if endpoint.disabled.is_none() && now - since >= FAILURE_WINDOW_S {
                endpoint.disabled = Some(EndpointDisabled::Failing);
                endpoint.disabled_at = Some(now);
                delivery.state = DeliveryState::Dropped;
                return true;
            }
            false
        }
    }
}

/// When a delivery last changed: its last attempt, else its creation.
pub fn last_activity(delivery: &Delivery) -> i64 {
    delivery
        .attempts
        .last()
        .map_or(delivery.created_at, |a| a.at.max(delivery.created_at))
}

/// Whether retention removes this delivery at `cutoff` (the raw bodies' retention window): a
/// finished one (delivered, failed or dropped) whose last activity is older. A pending one is
/// still in its schedule and stays, whatever its age; a resent one counts from its resend's try.
pub fn expired(delivery: &Delivery, cutoff: i64) -> bool {
    delivery.state != DeliveryState::Pending && last_activity(delivery) < cutoff
}

/// "Reenviar": the delivery goes again now, from the start of the schedule.
pub fn resend(delivery: &mut Delivery, now: i64) {
    delivery.state = DeliveryState::Pending;
    delivery.next_at = now;
    delivery.tries = 0;
}

#[cfg(test)]
mod outbound_tests;
