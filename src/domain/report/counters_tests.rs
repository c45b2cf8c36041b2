//! Table tests of what a message and a credited payment count in the reports, without a
//! database.

use super::counters::*;
use super::day_number;
use crate::domain::{
    EventId, EventKind, InstanceId, Message, MessageId, MessageStatus, StatusChange, StoreId,
};

const DAY: i64 = 86_400;
/// 2025-11-18 12:00 in Brasília.
const NOON: i64 = 1_763_478_000;

/// A message planned at NOON, due a day later, through `changes` (at, status, reason).
fn message(kind: EventKind, step: u32, changes: &[(i64, MessageStatus, Option<&str>)]) -> Message {
    let mut history = vec![StatusChange {
        at: NOON,
        status: MessageStatus::Scheduled,
        reason: None,
    }];
    history.extend(changes.iter().map(|(at, status, reason)| StatusChange {
        at: *at,
        status: *status,
        reason: reason.map(str::to_owned),
    }));
    Message {
        id: MessageId(1),
        store_id: StoreId(3),
        event_id: EventId(1),
        kind,
        step,
        part: 0,
        order_id: Some("A1".into()),
        phone: "+5511987654321".into(),
        buyer_name: None,
        product_key: String::new(),
        text: "oi".into(),
        due_at: NOON + DAY,
        status: history.last().expect("one at least").status,
        history,
        test: false,
        created_at: NOON,
        attempts: 0,
        maybe_sent: false,
        wire_id: None,
        awaiting_reply: false,
        reply_role: None,
        instance_id: Some(InstanceId(7)),
    }
}

#[test]
fn report_contribution_table() {
    use Counter::*;
    use EventKind::*;
    use MessageStatus as S;
    let later = NOON + 2 * DAY;
    // message, counters it adds (others zero), day it counts on, counts a buyer
    type Case<'a> = (Message, &'a [Counter], i64, bool);
    let cases: Vec<Case> = vec![
        (
            message(PixGenerated, 0, &[]),
            &[Planned, Pending],
            NOON + DAY,
            false,
        ),
        (
            message(PixGenerated, 0, &[(later, S::Sending, None)]),
            &[Planned, Pending],
            NOON + DAY,
            false,
        ),
        (
            message(PixGenerated, 0, &[(later, S::Sent, None)]),
            &[Planned, Sent, Attempts],
            later,
            true,
        ),
        (
            message(
                PixGenerated,
                1,
                &[(later, S::Sent, None), (later + DAY, S::Read, None)],
            ),
            &[Planned, Sent, Delivered, Read],
            later,
            true,
        ),
        (
            message(
                OrderPaid,
                0,
                &[(later, S::Sent, None), (later, S::Delivered, None)],
            ),
            &[Planned, Sent, Delivered],
            later,
            true,
        ),
        (
            message(PixGenerated, 0, &[(later, S::Failed, Some("permanent: x"))]),
            &[Planned, Failed],
            later,
            false,
        ),
        (
            message(
                PixGenerated,
                0,
                &[(later, S::Expired, Some("not_sent_within_48h"))],
            ),
            &[Planned, Expired],
            later,
            false,
        ),
        (
            message(
                PixGenerated,
                0,
                &[(later, S::Canceled, Some("order_closed"))],
            ),
            &[Planned, Canceled, CancelOrderClosed],
            later,
            false,
        ),
        (
            message(
                PixGenerated,
                0,
                &[(later, S::Canceled, Some("store_disabled"))],
            ),
            &[Planned, Canceled, CancelStore],
            later,
            false,
        ),
        (
            message(
                PixGenerated,
                0,
                &[(later, S::Canceled, Some("rescheduled"))],
            ),
            &[Planned, Canceled, CancelOther],
            later,
            false,
        ),
    ];
    for (m, counted, at, buyer) in cases {
        let name = format!("{:?} step {} {:?}", m.kind, m.step, m.status);
        let c = contribution(&m);
        for counter in (0..COUNTERS).map(|i| c.counters.0[i]).enumerate() {
            let expected = counted.iter().any(|k| *k as usize == counter.0);
            assert_eq!(
                counter.1,
                i64::from(expected),
                "{name}: counter {}",
                counter.0
            );
        }
        assert_eq!(c.key.day, day_number(at), "{name}: day");
        assert_eq!(message_day(&m), day_number(at), "{name}: message_day");
        assert_eq!((c.key.store_id.0, c.key.instance_id.0), (3, 7), "{name}");
        assert_eq!(
            c.buyer,
            buyer.then_some((day_number(at), 3, 7, 5_511_987_654_321)),
            "{name}: buyer"
        );
    }
}

#[test]
fn report_cancel_reason_counters() {
    let cases = [
        (Some("order_closed"), Counter::CancelOrderClosed),
        (Some("marked_paid"), Counter::CancelMarkedPaid),
        (Some("opted_out"), Counter::CancelOptedOut),
        (Some("buyer_cap"), Counter::CancelBuyerCap),
        (Some("canceled_by_user"), Counter::CancelByUser),
        (Some("template_off"), Counter::CancelTemplateOff),
        (Some("store_deleted"), Counter::CancelStore),
        (Some("store_disabled"), Counter::CancelStore),
        (Some("buyer_erased"), Counter::CancelOther),
        (Some("other"), Counter::CancelOther),
        (Some("anything"), Counter::CancelOther),
        (None, Counter::CancelOther),
    ];
    for (reason, counter) in cases {
        assert_eq!(cancel_counter(reason), counter, "{reason:?}");
    }
}

#[test]
fn report_recovery_counts_on_the_paid_day_and_shows_refunds() {
    let mut r = Recovery {
        store_id: StoreId(3),
        order_id: "A1".into(),
        paid_at: NOON + 3 * DAY,
        amount_cents: 19_700,
        message_id: MessageId(1),
        kind: EventKind::BoletoGenerated,
        step: 1,
        instance_id: None,
        test: false,
        sent_at: NOON,
        refunded_at: None,
    };
    assert_eq!(r.key().day, day_number(NOON + 3 * DAY));
    assert_eq!(r.key().instance_id, InstanceId(0));
    let c = r.counters();
    assert_eq!(
        (
            c.get(Counter::Recovered),
            c.get(Counter::RecoveredCents),
            c.get(Counter::Refunded)
        ),
        (1, 19_700, 0)
    );
    r.refunded_at = Some(NOON + 5 * DAY);
    let c = r.counters();
    assert_eq!(
        (c.get(Counter::Refunded), c.get(Counter::RefundedCents)),
        (1, 19_700)
    );
    assert!(c.scaled(-1).get(Counter::Recovered) == -1 && !c.is_zero());
}

#[test]
fn report_sent_at_is_the_first_sent() {
    use MessageStatus::*;
    let m = message(
        EventKind::PixGenerated,
        0,
        &[(NOON + 10, Sent, None), (NOON + 20, Delivered, None)],
    );
    assert_eq!(sent_at(&m), Some(NOON + 10));
    assert_eq!(sent_at(&message(EventKind::PixGenerated, 0, &[])), None);
    assert_eq!(phone_number("+5511987654321"), Some(5_511_987_654_321));
    assert_eq!(phone_number("not a phone"), None);
}

/// Issue 16: a media part (its directive kept in the text) is one part like any other: it
/// counts as planned and sent, and only the step's first part counts as a recovery attempt.
#[test]
fn report_media_parts_count_as_parts() {
    use MessageStatus as S;
    let sent = [(NOON + DAY, S::Sent, None)];
    let parts = [
        "Olá, Ana! Seu boleto está pronto.",
        "#documento https://loja.example/boleto.pdf\nSeu boleto em PDF",
        "#qrcode 00020101021226900014br.gov.bcb.pix\nOu pague com PIX",
    ];
    let mut total = Counters::default();
    for (part, text) in parts.iter().enumerate() {
        let mut m = message(EventKind::BoletoGenerated, 0, &sent);
        m.part = u32::try_from(part).expect("small");
        m.text = (*text).to_owned();
        let c = contribution(&m).counters;
        for counter in [Counter::Planned, Counter::Sent, Counter::Attempts] {
            total.bump(counter, c.get(counter));
        }
        // A media part alone counts the same as the text part it replaces.
        let mut as_text = m.clone();
        as_text.text = "texto".into();
        assert_eq!(contribution(&as_text).counters, c, "part {part}");
    }
    assert_eq!(
        (
            total.get(Counter::Planned),
            total.get(Counter::Sent),
            total.get(Counter::Attempts)
        ),
        (3, 3, 1)
    );
}
