//! Outbound deliveries on a real data file: retention removes the finished ones older than the
//! raw bodies' window, with their log entries, and leaves pending and recent ones.

use crate::db::NewEndpoint;
use crate::db::{Db, DbError, DbOptions};
use crate::domain::outbound::{Attempt, DeliveryState, OutboundEvent, Outcome};
use crate::domain::{DeliveryId, InstanceId};

const DAY: i64 = 86_400;

fn attempt(db: &Db, id: u64, outcome: Outcome, at: i64) {
    let status = match outcome {
        Outcome::Delivered => 200,
        Outcome::Failed => 503,
    };
    db.record_delivery_attempt(
        DeliveryId(id),
        outcome,
        Attempt {
            at,
            status: Some(status),
            response: String::new(),
        },
        0.0,
    )
    .expect("attempt recorded");
}

#[test]
fn retention_removes_finished_deliveries_older_than_the_window_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
    let endpoint = db
        .create_endpoint(
            NewEndpoint {
                url: "http://127.0.0.1:5678/webhook/avisa".into(),
                description: "n8n".into(),
                events: vec![OutboundEvent::InstanceState],
                store_id: None,
                secret: "whsec_0123456789abcdef".into(),
            },
            0,
        )
        .expect("endpoint");
    for day in [1, 2, 3, 4, 200] {
        db.emit_instance_state(
            InstanceId(1),
            serde_json::json!({ "state": "connected" }),
            day * DAY,
        )
        .expect("queued");
    }
    attempt(&db, 1, Outcome::Delivered, DAY);
    for i in 0..7 {
        attempt(&db, 2, Outcome::Failed, 2 * DAY + i);
    }
    assert_eq!(
        db.delivery(DeliveryId(2)).expect("d2").state,
        DeliveryState::Failed
    );
    attempt(&db, 3, Outcome::Delivered, 3 * DAY);
    attempt(&db, 4, Outcome::Failed, 4 * DAY);
    // whd_3, old, is resent after the cutoff: it counts from then.
    db.resend_delivery(DeliveryId(3), 150 * DAY)
        .expect("resend");
    attempt(&db, 3, Outcome::Delivered, 150 * DAY);
    attempt(&db, 5, Outcome::Delivered, 200 * DAY);

    let cutoff = 100 * DAY;
    assert_eq!(db.purge_deliveries_before(cutoff).expect("purge"), 2);
    let left: Vec<u64> = db
        .endpoint_deliveries(endpoint.id, 10)
        .expect("log")
        .iter()
        .map(|d| d.id.0)
        .collect();
    assert_eq!(left, [5, 4, 3], "the log lists what is left, newest first");
    for gone in [1, 2] {
        assert!(matches!(
            db.delivery(DeliveryId(gone)),
            Err(DbError::NotFound)
        ));
    }
    let pending = db.delivery(DeliveryId(4)).expect("d4");
    assert_eq!(
        pending.state,
        DeliveryState::Pending,
        "still in its schedule"
    );
    assert_eq!(
        db.next_delivery_due().expect("due"),
        Some(pending.next_at),
        "the pending one is still due"
    );
    assert_eq!(db.purge_deliveries_before(cutoff).expect("again"), 0);
}
