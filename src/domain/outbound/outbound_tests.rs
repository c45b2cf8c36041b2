//! Outbound webhooks' rules: the retry schedule, its jitter, the failure window, and which
//! message writes report which event.

use super::*;
use crate::domain::MessageStatus as S;

fn endpoint() -> Endpoint {
    Endpoint {
        id: EndpointId(1),
        url: "http://127.0.0.1:5678/webhook/avisa".into(),
        description: String::new(),
        events: OutboundEvent::ALL.to_vec(),
        store_id: None,
        secret: "whsec_test".into(),
        created_at: 0,
        disabled: None,
        disabled_at: None,
        failing_since: None,
    }
}

fn delivery() -> Delivery {
    Delivery {
        id: DeliveryId(1),
        endpoint_id: EndpointId(1),
        event: OutboundEvent::MessageSent,
        body: "{}".into(),
        created_at: 0,
        state: DeliveryState::Pending,
        next_at: 0,
        tries: 0,
        attempts: Vec::new(),
        phone: None,
    }
}

fn failed(at: i64) -> Attempt {
    Attempt {
        at,
        status: Some(503),
        response: "down".into(),
    }
}

#[test]
fn the_retry_schedule_is_30s_2min_10min_1h_6h_24h_then_none() {
    let waits: Vec<Option<i64>> = (1..=7).map(|t| next_retry_at(t, 1_000, 0.0)).collect();
    assert_eq!(
        waits,
        [
            Some(1_030),
            Some(1_120),
            Some(1_600),
            Some(4_600),
            Some(1_000 + 21_600),
            Some(1_000 + 86_400),
            None
        ]
    );
    assert_eq!(next_retry_at(0, 1_000, 0.0), None, "no attempt, no retry");
}

#[test]
fn jitter_adds_up_to_a_fifth_of_the_wait() {
    assert_eq!(next_retry_at(1, 0, 0.5), Some(33));
    assert_eq!(next_retry_at(4, 0, 0.999), Some(3_600 + 719));
    assert_eq!(next_retry_at(1, 0, 7.0), Some(36), "jitter is clamped");
}

#[test]
fn a_failing_delivery_walks_the_schedule_and_fails_when_it_runs_out() {
    let (mut d, mut e) = (delivery(), endpoint());
    let mut now = 0;
    let mut due = Vec::new();
    for _ in 0..7 {
        record_attempt(&mut d, &mut e, Outcome::Failed, failed(now), 0.0);
        due.push((d.state, d.next_at));
        now = d.next_at;
    }
    assert_eq!(
        due,
        [
            (DeliveryState::Pending, 30),
            (DeliveryState::Pending, 150),
            (DeliveryState::Pending, 750),
            (DeliveryState::Pending, 4_350),
            (DeliveryState::Pending, 25_950),
            (DeliveryState::Pending, 112_350),
            (DeliveryState::Failed, 112_350),
        ]
    );
    assert_eq!(d.attempts.len(), 7);
    assert_eq!(e.failing_since, Some(0));
    assert_eq!(e.disabled, None, "31 hours of failures are not 3 days");
}

#[test]
fn an_endpoint_failing_for_three_days_is_disabled_and_a_success_resets_the_window() {
    let mut e = endpoint();
    let mut d = delivery();
    assert!(!record_attempt(
        &mut d,
        &mut e,
        Outcome::Failed,
        failed(100),
        0.0
    ));
    let mut d = delivery();
    let ok = Attempt {
        at: 200,
        status: Some(200),
        response: "ok".into(),
    };
    assert!(!record_attempt(&mut d, &mut e, Outcome::Delivered, ok, 0.0));
    assert_eq!((d.state, e.failing_since), (DeliveryState::Delivered, None));

    let mut d = delivery();
    assert!(!record_attempt(
        &mut d,
        &mut e,
        Outcome::Failed,
        failed(1_000),
        0.0
    ));
    let mut d = delivery();
    let just_before = 1_000 + FAILURE_WINDOW_S - 1;
    assert!(!record_attempt(
        &mut d,
        &mut e,
        Outcome::Failed,
        failed(just_before),
        0.0
    ));
    assert_eq!(e.disabled, None);
    let mut d = delivery();
    let window = 1_000 + FAILURE_WINDOW_S;
    assert!(record_attempt(
        &mut d,
        &mut e,
        Outcome::Failed,
        failed(window),
        0.0
    ));
    assert_eq!(e.disabled, Some(EndpointDisabled::Failing));
    assert_eq!(e.disabled_at, Some(window));
    assert_eq!(d.state, DeliveryState::Dropped);
    assert!(
        !e.wants(OutboundEvent::MessageSent, &[]),
        "a disabled endpoint gets nothing"
    );
}

#[test]
fn resend_starts_the_schedule_again_and_keeps_the_log() {
    let (mut d, mut e) = (delivery(), endpoint());
    for at in [0, 30, 150, 750, 4_350, 25_950, 112_350] {
        record_attempt(&mut d, &mut e, Outcome::Failed, failed(at), 0.0);
    }
    assert_eq!(d.state, DeliveryState::Failed);
    resend(&mut d, 200_000);
    assert_eq!(
        (d.state, d.next_at, d.tries),
        (DeliveryState::Pending, 200_000, 0)
    );
    assert_eq!(d.attempts.len(), 7);
}

#[test]
fn message_writes_report_these_events() {
    use OutboundEvent::*;
    let rows: [(Option<S>, S, &[OutboundEvent]); 9] = [
        (None, S::Scheduled, &[MessagePlanned]),
        (None, S::Canceled, &[MessagePlanned, MessageCanceled]),
        (Some(S::Scheduled), S::Scheduled, &[]),
        (Some(S::Scheduled), S::Sending, &[]),
        (Some(S::Sending), S::Sent, &[MessageSent]),
        (Some(S::Sent), S::Delivered, &[MessageDelivered]),
        (Some(S::Delivered), S::Read, &[MessageRead]),
        (Some(S::Sending), S::Failed, &[MessageFailed]),
        (Some(S::Scheduled), S::Expired, &[MessageFailed]),
    ];
    for (before, after, want) in rows {
        assert_eq!(
            OutboundEvent::for_message(before, after),
            want,
            "{before:?} -> {after:?}"
        );
    }
}

#[test]
fn event_names_round_trip() {
    for e in OutboundEvent::ALL {
        assert_eq!(OutboundEvent::parse(e.as_str()), Some(e));
        assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
    }
    assert_eq!(OutboundEvent::parse("message.exploded"), None);
}

#[test]
fn a_store_endpoint_gets_only_its_stores_changes() {
    let mut e = endpoint();
    e.store_id = Some(StoreId(2));
    e.events = vec![OutboundEvent::MessageSent];
    assert!(e.wants(OutboundEvent::MessageSent, &[StoreId(2)]));
    assert!(!e.wants(OutboundEvent::MessageSent, &[StoreId(3)]));
    assert!(!e.wants(OutboundEvent::MessageSent, &[]));
    assert!(!e.wants(OutboundEvent::MessageRead, &[StoreId(2)]));
    e.store_id = None;
    assert!(e.wants(OutboundEvent::MessageSent, &[]));
}

#[test]
fn spread_is_a_fixed_fraction_per_delivery_and_spreads_them() {
    assert_eq!(spread(DeliveryId(1)), spread(DeliveryId(1)));
    let values: Vec<f64> = (1..=1_000).map(|id| spread(DeliveryId(id))).collect();
    assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
    let low = values.iter().filter(|v| **v < 0.5).count();
    assert!((400..600).contains(&low), "{low} of 1000 below one half");
}

#[test]
fn retention_takes_finished_deliveries_whose_last_activity_is_before_the_cutoff() {
    const CUTOFF: i64 = 1_000;
    let with = |state: DeliveryState, created_at: i64, tried: &[i64]| Delivery {
        state,
        created_at,
        attempts: tried.iter().map(|&at| failed(at)).collect(),
        ..delivery()
    };
    use DeliveryState::*;
    let table = [
        ("delivered long ago", with(Delivered, 10, &[10]), true),
        ("failed long ago", with(Failed, 10, &[10, 900]), true),
        (
            "dropped long ago, never tried",
            with(Dropped, 10, &[]),
            true,
        ),
        ("pending, however old", with(Pending, 10, &[10]), false),
        (
            "delivered at the cutoff",
            with(Delivered, 10, &[CUTOFF]),
            false,
        ),
        (
            "old but resent and tried since",
            with(Delivered, 10, &[10, 1_500]),
            false,
        ),
        ("created after the cutoff", with(Dropped, 1_200, &[]), false),
    ];
    for (case, d, gone) in table {
        assert_eq!(expired(&d, CUTOFF), gone, "{case}");
    }
}
