//! Table tests of `transition`: which changes each status allows, and what each change writes.

use super::message::*;
use super::{EventId, EventKind, InstanceId, MessageId, StoreId};

fn message(status: MessageStatus) -> Message {
    Message {
        id: MessageId(1),
        store_id: StoreId(1),
        event_id: EventId(1),
        kind: EventKind::PixGenerated,
        step: 0,
        part: 0,
        order_id: None,
        phone: "+5511987654321".into(),
        buyer_name: None,
        product_key: String::new(),
        text: "oi".into(),
        due_at: 100,
        status,
        history: vec![StatusChange {
            at: 0,
            status,
            reason: None,
        }],
        test: false,
        created_at: 0,
        attempts: 0,
        maybe_sent: false,
        wire_id: None,
        awaiting_reply: false,
        reply_role: None,
        instance_id: None,
    }
}

#[test]
fn transition_table_of_allowed_changes() {
    use MessageStatus::*;
    let changes = [
        (
            "cancel",
            Change::Cancel("opted_out".into()),
            vec![Scheduled, Queued],
        ),
        (
            "reschedule",
            Change::Reschedule { due_at: 5 },
            vec![Scheduled, Queued],
        ),
        (
            "claim",
            Change::Claim {
                instance_id: Some(InstanceId(2)),
            },
            vec![Scheduled],
        ),
        (
            "await an answer",
            Change::Await {
                due_at: 9,
                reason: "buyer_answered".into(),
            },
            vec![Scheduled],
        ),
        (
            "close",
            Change::Close {
                status: Expired,
                reason: "not_sent_within_48h".into(),
            },
            vec![Scheduled],
        ),
        (
            "sent",
            Change::Sent { sandbox: false },
            MessageStatus::ALL.to_vec(),
        ),
        (
            "retry",
            Change::Retry {
                due_at: 9,
                reason: "transient: x".into(),
            },
            MessageStatus::ALL.to_vec(),
        ),
        (
            "hold",
            Change::Hold {
                reason: "session_unavailable: x".into(),
            },
            MessageStatus::ALL.to_vec(),
        ),
        (
            "fail",
            Change::Fail {
                reason: "permanent".into(),
            },
            MessageStatus::ALL.to_vec(),
        ),
        ("requeue", Change::Requeue, vec![Sending]),
        ("give up", Change::GiveUp, vec![Sending]),
        ("delivered", Change::Delivered, vec![Sent]),
        ("read", Change::Read, vec![Sent, Delivered]),
        (
            "refused",
            Change::Refused { detail: "x".into() },
            vec![Sending, Sent],
        ),
    ];
    for (name, change, allowed) in changes {
        for from in MessageStatus::ALL {
            let mut m = message(from);
            let before = m.clone();
            let got = transition(&mut m, change.clone(), 50);
            if allowed.contains(&from) {
                assert_eq!(got, Ok(from), "{name} from {from:?}");
                assert_eq!(m.history.len(), 2, "{name} from {from:?} appends history");
                let last = m.history.last().expect("appended");
                assert_eq!((last.at, last.status), (50, m.status), "{name}");
            } else {
                assert_eq!(got, Err(NotAllowed { from }), "{name} from {from:?}");
                assert_eq!(m, before, "{name} from {from:?} changes nothing");
            }
        }
    }
}

#[test]
fn transition_table_of_what_each_change_writes() {
    use MessageStatus::*;
    // change, from → status, reason, (due_at, attempts, maybe_sent, test, instance)
    type Case = (
        Change,
        MessageStatus,
        MessageStatus,
        Option<&'static str>,
        (i64, u32, bool, bool, Option<u64>),
    );
    let cases: Vec<Case> = vec![
        (
            Change::Cancel("buyer_cap".into()),
            Scheduled,
            Canceled,
            Some("buyer_cap"),
            (100, 0, false, false, None),
        ),
        (
            Change::Reschedule { due_at: 7 },
            Queued,
            Scheduled,
            Some("rescheduled"),
            (7, 0, false, false, None),
        ),
        (
            Change::Claim {
                instance_id: Some(InstanceId(3)),
            },
            Scheduled,
            Sending,
            None,
            (100, 0, false, false, Some(3)),
        ),
        (
            Change::Await {
                due_at: 9,
                reason: "buyer_answered".into(),
            },
            Scheduled,
            Scheduled,
            Some("buyer_answered"),
            (9, 0, false, false, None),
        ),
        (
            Change::Close {
                status: Expired,
                reason: "not_sent_within_48h".into(),
            },
            Scheduled,
            Expired,
            Some("not_sent_within_48h"),
            (100, 0, false, false, None),
        ),
        (
            Change::Sent { sandbox: true },
            Sending,
            Sent,
            Some("sandbox"),
            (100, 0, false, true, None),
        ),
        (
            Change::Sent { sandbox: false },
            Sending,
            Sent,
            None,
            (100, 0, false, false, None),
        ),
        (
            Change::Retry {
                due_at: 160,
                reason: "transient: x".into(),
            },
            Sending,
            Scheduled,
            Some("transient: x"),
            (160, 1, false, false, None),
        ),
        (
            Change::Hold {
                reason: "session_unavailable: x".into(),
            },
            Sending,
            Scheduled,
            Some("session_unavailable: x"),
            (100, 0, false, false, None),
        ),
        (
            Change::Fail {
                reason: "permanent: no".into(),
            },
            Sending,
            Failed,
            Some("permanent: no"),
            (100, 1, false, false, None),
        ),
        (
            Change::Requeue,
            Sending,
            Scheduled,
            Some("maybe_sent"),
            (100, 0, true, false, None),
        ),
        (
            Change::GiveUp,
            Sending,
            Failed,
            Some("maybe_sent_twice"),
            (100, 0, false, false, None),
        ),
        (
            Change::Delivered,
            Sent,
            Delivered,
            None,
            (100, 0, false, false, None),
        ),
        (
            Change::Read,
            Delivered,
            Read,
            None,
            (100, 0, false, false, None),
        ),
        (
            Change::Refused {
                detail: "463".into(),
            },
            Sent,
            Failed,
            Some("server_refused: 463"),
            (100, 0, false, false, None),
        ),
    ];
    for (change, from, status, reason, fields) in cases {
        let name = format!("{change:?}");
        let mut m = message(from);
        transition(&mut m, change, 50).expect("allowed");
        assert_eq!(m.status, status, "{name}");
        assert_eq!(m.reason(), reason, "{name}");
        assert_eq!(
            (
                m.due_at,
                m.attempts,
                m.maybe_sent,
                m.test,
                m.instance_id.map(InstanceId::get)
            ),
            fields,
            "{name}"
        );
    }
}
