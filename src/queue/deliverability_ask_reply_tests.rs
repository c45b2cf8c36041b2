//! "Pedir resposta" (issue 15) as a spec, on the fake channel with a stepped clock: the first
//! message goes alone as an invitation, the rest waits; the buyer's answer sends it promptly,
//! silence sends it when the wait is over. The held parts survive a restart, an opt-out or a
//! paid order cancels them, they never go before the invitation, and the 48 h expiry counts
//! from the step's own time.

use std::sync::Arc;

use serde_json::json;

use super::channel::{Channel, ChannelState, Incoming};
use super::inbox::{Handled, Inbox};
use super::outbox::Outbox;
use super::outbox_tests::{NOON, Rig, rig};
use crate::channels::Channels;
use crate::db::{ConversationKind, Db, DbOptions};
use crate::domain::deliverability::{AskReply, ReplyRole};
use crate::domain::template::{MessageTemplate, StepDelay, TemplateStep};
use crate::domain::{EventKind, Message, MessageStatus};

const ANA: &str = "+5511987654321";
const WAIT: i64 = 10 * 60;
const PACE: i64 = 30;

/// The store's boleto template asks for an answer: the link and the barcode wait behind the
/// shipped invitation for ten minutes.
fn asking(rig: &Rig) {
    let template = MessageTemplate {
        kind: EventKind::BoletoGenerated,
        enabled: true,
        steps: vec![
            TemplateStep {
                delay: StepDelay::After { minutes: 0 },
                parts: vec![
                    "Seu boleto: {{ payment.boleto_url }}".into(),
                    "{{ payment.boleto_barcode }}".into(),
                ],
            },
            TemplateStep {
                delay: StepDelay::After { minutes: 24 * 60 },
                parts: vec!["Lembrete do boleto".into()],
            },
        ],
        ask_reply: AskReply {
            enabled: true,
            invite: String::new(),
            timeout_min: 10,
        },
    };
    rig.db
        .save_template(rig.store.id, &template)
        .expect("template saved");
}

fn boleto(rig: &mut Rig) {
    rig.event(json!({
        "kind": "boleto.generated",
        "order_id": "7781",
        "payment": {
            "method": "boleto",
            "boleto_url": "https://loja.example/b/7781",
            "boleto_barcode": "23793.38128 60000.000003",
        },
    }));
}

fn inbox(rig: &Rig) -> Inbox {
    Inbox::new(
        rig.db.clone(),
        Arc::new(Channels::default()),
        Arc::new(rig.clock.clone()),
    )
}

async fn answer(rig: &Rig, text: &str, id: &str, at: i64) -> Handled {
    inbox(rig)
        .handle(
            rig.instance.id,
            rig.fake.as_ref(),
            Incoming {
                from: ANA.into(),
                text: text.into(),
                at,
                id: Some(id.into()),
            },
        )
        .await
        .expect("handled")
}

fn texts(rig: &Rig) -> Vec<String> {
    rig.fake.sent().into_iter().map(|s| s.text).collect()
}

fn step_one(rig: &Rig) -> Vec<Message> {
    rig.messages()
        .into_iter()
        .filter(|m| m.step == 0 && m.kind == EventKind::BoletoGenerated)
        .collect()
}

fn reasons(message: &Message) -> Vec<String> {
    message
        .history
        .iter()
        .filter_map(|c| c.reason.clone())
        .collect()
}

#[tokio::test]
async fn the_invitation_goes_alone_and_an_answer_sends_the_rest_at_once() {
    let mut rig = rig(|_| {});
    asking(&rig);
    boleto(&mut rig);
    let planned = step_one(&rig);
    assert_eq!(planned.len(), 3, "the invitation, then the two parts");
    assert_eq!(
        planned[0].reply_role,
        Some(ReplyRole::Invite { timeout_min: 10 })
    );
    assert!(
        planned[0]
            .text
            .contains("Responda *1* para receber o link do seu boleto aqui")
    );
    assert!(
        matches!(planned[1].reply_role, Some(ReplyRole::Held { invite, .. }) if invite == planned[0].id)
    );
    assert_eq!(reasons(&planned[1]), ["awaiting_reply"]);

    assert_eq!(rig.pass().await.sent, 1);
    assert_eq!(texts(&rig).len(), 1, "only the invitation");
    rig.at(NOON + PACE);
    assert_eq!(rig.pass().await.sent, 0, "the rest waits for the answer");

    rig.at(NOON + 3 * 60);
    assert_eq!(
        answer(&rig, "1", "W1", NOON + 3 * 60).await,
        Handled::Released { parts: 2 }
    );
    assert_eq!(
        rig.pass().await.sent,
        1,
        "released at once, not in ten minutes"
    );
    rig.at(NOON + 3 * 60 + PACE);
    assert_eq!(
        rig.pass().await.sent,
        1,
        "the second part at the next pacing slot"
    );
    let sent = texts(&rig);
    assert_eq!(
        sent[1..],
        [
            "Seu boleto: https://loja.example/b/7781",
            "23793.38128 60000.000003"
        ]
    );
    let parts = step_one(&rig);
    assert_eq!(
        reasons(&parts[1]),
        ["awaiting_reply", "reply_timer", "buyer_answered"]
    );
    // The answer is in the buyer's conversation and the invitation is answered (health).
    let conversation = rig.db.conversation(ANA, 10).expect("conversation");
    assert_eq!(conversation[0].kind, ConversationKind::Reply);
    assert_eq!(conversation[0].text, "1");
    assert!(
        !parts[0].awaiting_reply,
        "the answer resets the unanswered state"
    );
    // The follow-up step is planned as usual, not held.
    let follow_up = rig
        .messages()
        .into_iter()
        .find(|m| m.step == 1)
        .expect("step 2");
    assert_eq!(follow_up.reply_role, None);
    assert_eq!(follow_up.status, MessageStatus::Scheduled);
}

#[tokio::test]
async fn without_an_answer_the_rest_goes_when_the_wait_is_over() {
    let mut rig = rig(|_| {});
    asking(&rig);
    boleto(&mut rig);
    assert_eq!(rig.pass().await.sent, 1);
    rig.at(NOON + WAIT - 1);
    assert_eq!(
        rig.pass().await.sent,
        0,
        "nine minutes and 59 s: still waiting"
    );
    rig.at(NOON + WAIT + 5);
    assert_eq!(
        rig.pass().await.sent,
        1,
        "ten minutes after the invitation went"
    );
    rig.at(NOON + WAIT + 5 + PACE);
    assert_eq!(rig.pass().await.sent, 1);
    assert_eq!(texts(&rig).len(), 3, "nothing is lost");
    // A late answer after everything went releases nothing and the auto-reply may answer.
    assert_eq!(
        answer(&rig, "1", "W1", NOON + WAIT + 60).await,
        Handled::Kept
    );
}

#[tokio::test]
async fn the_held_parts_survive_a_restart_and_an_answer_after_it_still_releases_them() {
    let mut rig = rig(|_| {});
    asking(&rig);
    boleto(&mut rig);
    assert_eq!(rig.pass().await.sent, 1);
    let Rig {
        _tmp: tmp,
        db,
        fake,
        clock,
        outbox,
        instance,
        ..
    } = rig;
    drop(outbox);
    drop(db);
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("reopen");
    let channels = Arc::new(Channels::default());
    channels.insert(instance.id, fake.clone() as Arc<dyn Channel>);
    let outbox = Outbox::new(
        db.clone(),
        channels,
        Arc::new(clock.clone()),
        Arc::new(|| 0.5),
    );
    assert_eq!(outbox.recover().await.expect("recover"), 0);
    clock.advance(2 * 60);
    let inbox = Inbox::new(
        db.clone(),
        Arc::new(Channels::default()),
        Arc::new(clock.clone()),
    );
    let handled = inbox
        .handle(
            instance.id,
            fake.as_ref(),
            Incoming {
                from: ANA.into(),
                text: "quero".into(),
                at: NOON + 2 * 60,
                id: Some("W1".into()),
            },
        )
        .await
        .expect("handled");
    assert_eq!(
        handled,
        Handled::Released { parts: 2 },
        "any answer but an opt-out"
    );
    assert_eq!(outbox.run_once().await.expect("pass").sent, 1);
    assert_eq!(fake.sent().len(), 2);
    drop(tmp);
}

#[tokio::test]
async fn a_buyer_who_answers_sair_gets_nothing_more() {
    let mut rig = rig(|_| {});
    asking(&rig);
    boleto(&mut rig);
    assert_eq!(rig.pass().await.sent, 1);
    assert!(matches!(
        answer(&rig, "SAIR", "W1", NOON + 60).await,
        Handled::OptedOut { .. }
    ));
    let held = step_one(&rig);
    assert!(
        held[1..]
            .iter()
            .all(|m| m.status == MessageStatus::Canceled && m.reason() == Some("opted_out"))
    );
    rig.at(NOON + WAIT + 60);
    rig.pass().await;
    let sent = texts(&rig);
    assert_eq!(
        sent.len(),
        2,
        "the invitation and the opt-out confirmation only"
    );
}

#[tokio::test]
async fn a_paid_boleto_cancels_the_held_rest() {
    let mut rig = rig(|_| {});
    asking(&rig);
    boleto(&mut rig);
    assert_eq!(rig.pass().await.sent, 1);
    rig.at(NOON + 60);
    rig.event(json!({ "kind": "order.paid", "order_id": "7781" }));
    let held = step_one(&rig);
    assert!(
        held[1..]
            .iter()
            .all(|m| m.status == MessageStatus::Canceled && m.reason() == Some("order_closed"))
    );
    // An answer now releases nothing.
    assert_ne!(
        answer(&rig, "1", "W1", NOON + 90).await,
        Handled::Released { parts: 2 }
    );
}

#[tokio::test]
async fn the_rest_never_goes_before_the_invitation_and_its_wait_starts_when_it_went() {
    let mut rig = rig(|_| {});
    asking(&rig);
    rig.fake.set_state(ChannelState::Disconnected);
    boleto(&mut rig);
    // Disconnected well past the parts' planned time: nothing goes.
    rig.at(NOON + 3600);
    assert_eq!(rig.pass().await.sent, 0);
    rig.fake.set_state(ChannelState::Connected {
        number: "+5511900000000".into(),
        name: "Loja".into(),
    });
    assert_eq!(rig.pass().await.sent, 1);
    assert!(texts(&rig)[0].contains("Responda"), "the invitation first");
    rig.at(NOON + 3600 + PACE);
    assert_eq!(
        rig.pass().await.sent,
        0,
        "the wait starts when the invitation went, not when it was planned"
    );
}

#[tokio::test]
async fn a_rest_whose_wait_would_end_past_48_h_after_its_step_expires() {
    let mut rig = rig(|_| {});
    asking(&rig);
    rig.fake.set_state(ChannelState::Disconnected);
    boleto(&mut rig);
    // The invitation goes 47 h 55 min late; its wait would end at 48 h 05 min.
    rig.at(NOON + 47 * 3600 + 55 * 60);
    rig.fake.set_state(ChannelState::Connected {
        number: "+5511900000000".into(),
        name: "Loja".into(),
    });
    assert_eq!(rig.pass().await.sent, 1);
    rig.at(NOON + 48 * 3600 + 6 * 60);
    let pass = rig.pass().await;
    assert_eq!(
        pass.expired, 2,
        "never later than the message would have gone"
    );
    assert!(
        step_one(&rig)[1..]
            .iter()
            .all(|m| m.status == MessageStatus::Expired)
    );
    assert!(
        texts(&rig).iter().all(|t| !t.contains("23793")),
        "{:?}",
        texts(&rig)
    );
}
