//! iugu and VTEX, the platforms added with credentials of several fields and form webhooks,
//! end to end like the first ones (`enrich_tests`): each ends as the judgement says on a 404,
//! a malformed answer and a platform that is down (Tray's in `tray_tests`); thin events kept
//! unmapped before the credentials were saved are fetched once they are.

use std::net::TcpListener;
use std::time::Duration;

use super::ApiBase;
use super::enrich_tests::{Mode, Rig, STAND_IN_HOST, StandIn, file_of, next_pass, stand_in_client};
use crate::domain::Platform;
use crate::domain::enrichment::RETRY_SCHEDULE_S;
use crate::ingest::ReasonCode;

/// The platforms these specs cover.
const MORE: [Platform; 2] = [Platform::Iugu, Platform::Vtex];

#[test]
fn enrich_not_found_malformed_and_down_end_as_judged_for_each_platform() {
    for platform in MORE {
        let rig = Rig::new(platform);
        let id = rig.receive_thin();
        let api = StandIn::start(Mode::Up {
            path: "/elsewhere".into(),
            file: file_of(platform),
        });
        let client = || stand_in_client(Duration::from_secs(5));
        let pass = rig
            .enricher(client(), ApiBase::StandIn(api.base()))
            .run_once()
            .expect("pass");
        assert_eq!(pass.given_up, 1, "{platform:?}: 404");
        let reason = rig.event(id).reason.expect("reason");
        assert_eq!(reason.code, ReasonCode::ApiNotFound, "{platform:?}");
        assert_eq!(reason.detail, "a plataforma não encontrou o pedido");

        let rig = Rig::new(platform);
        let id = rig.receive_thin();
        api.set(Mode::Malformed);
        let enricher = rig.enricher(client(), ApiBase::StandIn(api.base()));
        assert_eq!(next_pass(&rig, &enricher, id).retried, 1, "{platform:?}");
        let job = rig.db.enrich_job(id).expect("read").expect("job");
        assert!(job.attempts[0].note.starts_with("resposta ilegível"));

        let rig = Rig::new(platform);
        let id = rig.receive_thin();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let base = ApiBase::StandIn(format!("http://{STAND_IN_HOST}:{port}"));
        let enricher = rig.enricher(client(), base);
        for _ in RETRY_SCHEDULE_S {
            assert_eq!(next_pass(&rig, &enricher, id).retried, 1, "{platform:?}");
        }
        assert_eq!(next_pass(&rig, &enricher, id).given_up, 1);
        let reason = rig.event(id).reason.expect("reason");
        assert_eq!(reason.code, ReasonCode::ApiNoAnswer, "{platform:?}");
        assert_eq!(rig.messages(id), 0);
    }
}

/// A PagBank legacy notification with `code`, recorded as the webhook would.
fn receive_legacy(rig: &Rig, code: &str) -> crate::domain::EventId {
    rig.receive(format!("notificationCode={code}&notificationType=transaction").into_bytes())
}

#[test]
fn enrich_saved_credentials_fetch_the_thin_events_that_waited_for_them_in_the_last_48_hours() {
    use crate::domain::Clock as _;
    use crate::ingest::Status;
    let rig = Rig::new(Platform::Pagbank);
    let saved = rig.db.api_credentials(rig.store).expect("read");
    rig.db
        .set_api_credentials(rig.store, None)
        .expect("no credentials yet");
    let old = receive_legacy(&rig, "AAAA11-BB22CC33DD44-EE55FF667788-990011");
    rig.clock.advance(2 * 3600);
    let recent = receive_legacy(&rig, "BBBB22-BB22CC33DD44-EE55FF667788-990011");
    for id in [old, recent] {
        assert_eq!(rig.event(id).status, Status::Unmapped);
    }
    assert_eq!(rig.db.unacknowledged_unmapped().expect("badge"), 2);

    rig.clock.advance(47 * 3600);
    rig.db
        .set_api_credentials(rig.store, saved.as_ref())
        .expect("saved");
    let now = rig.clock.now();
    let held = rig
        .db
        .hold_unmapped_thin(rig.store, now - 48 * 3600, now)
        .expect("held");
    assert_eq!(held, 1, "only the one inside 48 hours");
    assert_eq!(rig.event(recent).status, Status::Awaiting);
    let job = rig.db.enrich_job(recent).expect("read").expect("a job");
    assert_eq!(
        job.path,
        "/v3/transactions/notifications/BBBB22-BB22CC33DD44-EE55FF667788-990011"
    );
    assert_eq!(job.next_at, now, "due at once");
    assert_eq!(rig.event(old).status, Status::Unmapped, "too old to remind");
    assert_eq!(rig.db.enrich_job(old).expect("read"), None);
    assert_eq!(rig.db.unacknowledged_unmapped().expect("badge"), 1);
    assert_eq!(
        rig.db
            .hold_unmapped_thin(rig.store, now - 48 * 3600, now)
            .expect("again"),
        0,
        "held once"
    );
}
