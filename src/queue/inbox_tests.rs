//! The inbox as a spec: buyer replies in through a fake channel, the opt-out list, the
//! conversation and the fake's sends out. Time is a manual clock.

use std::sync::Arc;

use super::channel::{ChannelState, Incoming};
use super::inbox::{Handled, Inbox};
use crate::channels::Channels;
use crate::channels::fake::FakeChannel;
use crate::db::{ConversationKind, Db, DbOptions};
use crate::domain::ManualClock;
use crate::domain::inbox::{AUTO_REPLY_WINDOW_S, DEFAULT_OPT_OUT_CONFIRMATION};
use crate::domain::{Instance, InstanceId, InstanceMode, MessageSettings};

const NOON: i64 = 1_750_000_000;
const ANA: &str = "+5511987654321";

struct Rig {
    _tmp: tempfile::TempDir,
    db: Db,
    clock: ManualClock,
    inbox: Inbox,
    channels: Arc<Channels>,
    fake: Arc<FakeChannel>,
    instance_id: InstanceId,
}

fn rig(auto_reply: Option<&str>) -> Rig {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
    let mut instance = Instance::new("Loja", InstanceMode::Whatsapp, NOON);
    if let Some(text) = auto_reply {
        instance.auto_reply.enabled = true;
        instance.auto_reply.text = text.to_owned();
    }
    let instance_id = db.create_instance(instance).expect("instance").id;
    let clock = ManualClock::at(NOON);
    let channels = Arc::new(Channels::default());
    let fake = Arc::new(FakeChannel::connected("+5511900000000"));
    let inbox = Inbox::new(db.clone(), channels.clone(), Arc::new(clock.clone()));
    Rig {
        _tmp: tmp,
        db,
        clock,
        inbox,
        channels,
        fake,
        instance_id,
    }
}

fn reply(text: &str, id: &str, at: i64) -> Incoming {
    Incoming {
        from: ANA.into(),
        text: text.into(),
        at,
        id: Some(id.into()),
    }
}

impl Rig {
    async fn receive(&self, incoming: Incoming) -> Handled {
        self.inbox
            .handle(self.instance_id, self.fake.as_ref(), incoming)
            .await
            .expect("handled")
    }

    fn conversation(&self) -> Vec<(ConversationKind, String)> {
        self.db
            .conversation(ANA, 100)
            .expect("conversation")
            .into_iter()
            .map(|e| (e.kind, e.text))
            .collect()
    }
}

#[tokio::test]
async fn an_opt_out_word_puts_the_buyer_on_the_list_and_confirms_once() {
    let rig = rig(Some("Oi! Já te respondemos."));
    assert_eq!(
        rig.receive(reply(" Sáir! ", "W1", NOON)).await,
        Handled::OptedOut { confirmed: true }
    );
    assert!(rig.db.is_opted_out(ANA).expect("read"));
    let list = rig.db.list_opt_outs().expect("list");
    assert_eq!((list[0].source.as_str(), list[0].added_at), ("reply", NOON));
    let sent = rig.fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].to.as_str(), sent[0].text.as_str()),
        (ANA, DEFAULT_OPT_OUT_CONFIRMATION)
    );
    // WhatsApp redelivers the same message: nothing happens again.
    assert_eq!(
        rig.receive(reply(" Sáir! ", "W1", NOON)).await,
        Handled::Duplicate
    );
    // A second "PARAR" (a new message) keeps them out but is not confirmed again.
    assert_eq!(
        rig.receive(reply("PARAR", "W2", NOON + 5)).await,
        Handled::OptedOut { confirmed: false }
    );
    // An opted-out buyer gets no auto-reply either.
    assert_eq!(
        rig.receive(reply("oi?", "W3", NOON + 9)).await,
        Handled::Kept
    );
    assert_eq!(rig.fake.sent().len(), 1);
    assert_eq!(
        rig.conversation(),
        [
            (ConversationKind::Reply, " Sáir! ".to_owned()),
            (
                ConversationKind::OptOutConfirmation,
                DEFAULT_OPT_OUT_CONFIRMATION.to_owned()
            ),
            (ConversationKind::Reply, "PARAR".to_owned()),
            (ConversationKind::Reply, "oi?".to_owned()),
        ]
    );
}

#[tokio::test]
async fn the_opt_out_words_and_confirmation_come_from_the_settings() {
    let rig = rig(None);
    rig.db
        .save_message_settings(&MessageSettings {
            opt_out_words: vec!["descadastrar".into()],
            opt_out_confirmation: "Ok, removido.".into(),
            ..MessageSettings::default()
        })
        .expect("settings");
    assert_eq!(rig.receive(reply("sair", "W1", NOON)).await, Handled::Kept);
    assert_eq!(
        rig.receive(reply("DESCADASTRAR", "W2", NOON)).await,
        Handled::OptedOut { confirmed: true }
    );
    assert_eq!(rig.fake.sent()[0].text, "Ok, removido.");
}

#[tokio::test]
async fn the_auto_reply_answers_a_buyer_at_most_once_in_24_hours() {
    let rig = rig(Some(
        "Recebemos sua mensagem; respondemos em horário comercial.",
    ));
    assert_eq!(
        rig.receive(reply("Qual o prazo?", "W1", NOON)).await,
        Handled::AutoReplied { sent: true }
    );
    rig.clock.advance(AUTO_REPLY_WINDOW_S - 1);
    assert_eq!(rig.receive(reply("Alô?", "W2", NOON)).await, Handled::Kept);
    rig.clock.advance(1);
    assert_eq!(
        rig.receive(reply("Oi de novo", "W3", NOON)).await,
        Handled::AutoReplied { sent: true }
    );
    let texts: Vec<String> = rig.fake.sent().into_iter().map(|s| s.text).collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.iter().all(|t| t.starts_with("Recebemos")));
    assert!(!rig.db.is_opted_out(ANA).expect("read"));
}

#[tokio::test]
async fn an_answer_the_channel_refuses_is_kept_with_the_reason() {
    let rig = rig(Some("Oi!"));
    rig.fake.set_state(ChannelState::Reconnecting);
    assert_eq!(
        rig.receive(reply("oi", "W1", NOON)).await,
        Handled::AutoReplied { sent: false }
    );
    let lines = rig.db.conversation(ANA, 10).expect("conversation");
    assert_eq!(lines[1].kind, ConversationKind::AutoReply);
    assert!(
        lines[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("session unavailable"))
    );
}

#[tokio::test]
async fn the_inbox_follows_channels_that_appear_after_it_started() {
    let rig = rig(None);
    let task = rig.inbox.clone().spawn();
    rig.channels.insert(rig.instance_id, rig.fake.clone());
    // Wait (without a timer) until the inbox listens on the new channel.
    while rig.fake.incoming_listeners() == 0 {
        tokio::task::yield_now().await;
    }
    rig.fake.emit_incoming(reply("STOP", "W1", NOON));
    while rig.fake.sent().is_empty() {
        tokio::task::yield_now().await;
    }
    assert!(rig.db.is_opted_out(ANA).expect("read"));
    task.abort();
}
