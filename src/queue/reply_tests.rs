//! Attendants' replies as a spec: a real data file, a fake channel behind the registry, time
//! passed in. Out at once through the store's instance, counted in its day, refused with a
//! reason, and the three kinds of teste kept for the caixa de teste.

use std::sync::Arc;

use super::channel::{ChannelState, SendError};
use super::reply::{ReplyOutcome, ReplyRequest, send_reply};
use crate::channels::Channels;
use crate::channels::fake::FakeChannel;
use crate::db::{ConversationKind, Db, DbOptions};
use crate::domain::reply::ReplyRefusal;
use crate::domain::{Instance, InstanceId, InstanceMode, MessageSettings, NewStore, Platform};
use crate::domain::{StoreId, sending};

/// 2025-06-15 12:06 in Brasília.
const NOON: i64 = 1_750_000_000;
const ANA: &str = "+5511987654321";

struct Rig {
    _tmp: tempfile::TempDir,
    db: Db,
    channels: Arc<Channels>,
    fake: Arc<FakeChannel>,
    store_id: StoreId,
    instance_id: InstanceId,
}

/// A store linked to an instance of `mode` (a connected fake for WhatsApp, the registry's own
/// sandbox for a test instance) with a daily limit of `daily_limit`.
fn rig(mode: InstanceMode, daily_limit: u32) -> Rig {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
    let mut instance = Instance::new("Número da loja", mode, 0);
    instance.daily_limit = daily_limit;
    let instance = db.create_instance(instance).expect("instance");
    let store = db
        .create_store(NewStore {
            name: "Loja Centro".into(),
            slug: "loja-centro".into(),
            platform: Platform::Api,
            enabled: true,
            secret: None,
            webhook_token: "0123456789abcdef0123456789abcdef".into(),
            created_at: 0,
        })
        .expect("store");
    db.update_store(store.id, |s| s.instance_id = Some(instance.id))
        .expect("linked");
    let channels = Arc::new(Channels::default());
    let fake = Arc::new(FakeChannel::connected("+5511900000000"));
    match mode {
        InstanceMode::Whatsapp => channels.insert(instance.id, fake.clone()),
        InstanceMode::Sandbox => channels.ensure(&instance),
    }
    Rig {
        _tmp: tmp,
        db,
        channels,
        fake,
        store_id: store.id,
        instance_id: instance.id,
    }
}

impl Rig {
    async fn reply(&self, text: &str, at: i64) -> ReplyOutcome {
        let request = ReplyRequest {
            store_id: self.store_id,
            buyer: ANA.into(),
            text: text.into(),
            by: "Carla Atendente".into(),
        };
        send_reply(&self.db, self.channels.as_ref(), request, at)
            .await
            .expect("storage works")
    }

    fn sent_today(&self, at: i64) -> u32 {
        self.db
            .instance(self.instance_id)
            .expect("instance")
            .sent_on(at)
    }

    fn lines(&self) -> usize {
        self.db.conversation(ANA, 100).expect("conversation").len()
    }
}

#[tokio::test]
async fn a_reply_goes_out_at_once_counts_in_the_day_and_shows_who_sent_it() {
    let rig = rig(InstanceMode::Whatsapp, 1000);
    rig.db
        .update_instance(rig.instance_id, |i| i.next_slot = NOON + 3600)
        .expect("a pacing slot an hour away");
    let ReplyOutcome::Sent(line) = rig.reply("  Oi, Ana! Seu pedido sai amanhã.\n", NOON).await
    else {
        panic!("sent")
    };
    let sent = rig.fake.sent();
    assert_eq!(sent.len(), 1, "sent now, pacing slot or not");
    assert_eq!(
        (sent[0].to.as_str(), sent[0].text.as_str()),
        (ANA, "Oi, Ana! Seu pedido sai amanhã.")
    );
    assert!(
        sent[0].message_id.starts_with("3EB0"),
        "a WhatsApp-shaped id"
    );
    assert_eq!(line.kind, ConversationKind::AttendantReply);
    assert_eq!(line.by.as_deref(), Some("Carla Atendente"));
    assert_eq!(line.store_id, Some(rig.store_id));
    assert_eq!(line.instance_id, Some(rig.instance_id));
    assert_eq!(
        (line.at, line.test, line.error.as_deref()),
        (NOON, false, None)
    );
    assert_eq!(rig.db.conversation(ANA, 10).expect("read"), vec![line]);
    assert_eq!(rig.sent_today(NOON), 1);
    let instance = rig.db.instance(rig.instance_id).expect("instance");
    assert_eq!(
        instance.next_slot,
        NOON + 3600,
        "the queue's pacing is untouched"
    );
}

#[tokio::test]
async fn an_opted_out_buyer_gets_no_reply_and_nothing_is_kept_or_counted() {
    let rig = rig(InstanceMode::Whatsapp, 1000);
    rig.db
        .add_opt_out(ANA, "reply", NOON - 60)
        .expect("opt-out");
    assert_eq!(
        rig.reply("Oi?", NOON).await,
        ReplyOutcome::Refused(ReplyRefusal::OptedOut)
    );
    assert!(rig.fake.sent().is_empty());
    assert_eq!((rig.lines(), rig.sent_today(NOON)), (0, 0));
}

#[tokio::test]
async fn a_disconnected_or_missing_channel_refuses_the_reply() {
    let rig = rig(InstanceMode::Whatsapp, 1000);
    rig.fake.set_state(ChannelState::Reconnecting);
    assert_eq!(
        rig.reply("Oi", NOON).await,
        ReplyOutcome::Refused(ReplyRefusal::NotConnected)
    );
    rig.channels.remove(rig.instance_id);
    assert_eq!(
        rig.reply("Oi", NOON).await,
        ReplyOutcome::Refused(ReplyRefusal::NotConnected)
    );
    rig.db
        .update_store(rig.store_id, |s| s.instance_id = None)
        .expect("unlinked");
    assert_eq!(
        rig.reply("Oi", NOON).await,
        ReplyOutcome::Refused(ReplyRefusal::Unlinked)
    );
    assert!(rig.fake.sent().is_empty());
    assert_eq!((rig.lines(), rig.sent_today(NOON)), (0, 0));
}

#[tokio::test]
async fn the_daily_limit_counts_replies_and_refuses_past_it_until_the_next_day() {
    let rig = rig(InstanceMode::Whatsapp, 2);
    assert!(matches!(rig.reply("um", NOON).await, ReplyOutcome::Sent(_)));
    assert!(matches!(
        rig.reply("dois", NOON + 1).await,
        ReplyOutcome::Sent(_)
    ));
    assert_eq!(
        rig.reply("três", NOON + 2).await,
        ReplyOutcome::Refused(ReplyRefusal::DailyLimit)
    );
    assert_eq!((rig.fake.sent().len(), rig.sent_today(NOON)), (2, 2));
    // The count is per Brasília day.
    let tomorrow = NOON + 86_400;
    assert_ne!(sending::local_day(tomorrow), sending::local_day(NOON));
    assert!(matches!(
        rig.reply("três", tomorrow).await,
        ReplyOutcome::Sent(_)
    ));
    assert_eq!(rig.sent_today(tomorrow), 1);
}

#[tokio::test]
async fn a_send_the_channel_refuses_is_kept_with_why_and_the_send_is_given_back() {
    let rig = rig(InstanceMode::Whatsapp, 1000);
    rig.fake
        .fail_next(SendError::Permanent("not on WhatsApp".into()));
    let ReplyOutcome::NotSent(line) = rig.reply("Oi", NOON).await else {
        panic!("not sent")
    };
    assert_eq!(line.error.as_deref(), Some("permanent: not on WhatsApp"));
    assert_eq!((rig.lines(), rig.sent_today(NOON)), (1, 0));
    // A session that dropped between the check and the send is "not connected": nothing kept.
    rig.fake
        .fail_next(SendError::SessionUnavailable("closed".into()));
    assert_eq!(
        rig.reply("Oi de novo", NOON).await,
        ReplyOutcome::Refused(ReplyRefusal::NotConnected)
    );
    assert_eq!((rig.lines(), rig.sent_today(NOON)), (1, 0));
}

#[tokio::test]
async fn a_store_in_modo_teste_keeps_the_reply_for_the_caixa_de_teste_without_an_instance() {
    let rig = rig(InstanceMode::Whatsapp, 1000);
    rig.db
        .update_store(rig.store_id, |s| {
            s.test_mode = true;
            s.instance_id = None;
        })
        .expect("modo teste");
    let ReplyOutcome::Sent(line) = rig.reply("Teste de resposta", NOON).await else {
        panic!("delivered to the caixa de teste")
    };
    assert!(line.test);
    assert_eq!(line.instance_id, None);
    assert!(rig.fake.sent().is_empty(), "nothing reaches WhatsApp");
    assert_eq!(rig.db.test_replies(10).expect("read"), vec![line]);
}

#[tokio::test]
async fn an_instancia_de_teste_counts_the_reply_and_keeps_it_for_the_caixa_de_teste() {
    let rig = rig(InstanceMode::Sandbox, 1);
    let ReplyOutcome::Sent(line) = rig.reply("Teste", NOON).await else {
        panic!("delivered to the caixa de teste")
    };
    assert!(line.test);
    assert_eq!(line.instance_id, Some(rig.instance_id));
    assert_eq!(rig.sent_today(NOON), 1);
    assert_eq!(
        rig.reply("Teste 2", NOON).await,
        ReplyOutcome::Refused(ReplyRefusal::DailyLimit),
        "a test instance keeps its daily limit, like its messages"
    );
    assert_eq!(rig.db.test_replies(10).expect("read").len(), 1);
}

#[tokio::test]
async fn a_numero_de_teste_gets_the_reply_in_the_caixa_de_teste_and_others_do_not() {
    let rig = rig(InstanceMode::Whatsapp, 1000);
    rig.db
        .save_message_settings(&MessageSettings {
            test_numbers: vec![ANA.into()],
            ..MessageSettings::default()
        })
        .expect("settings");
    let ReplyOutcome::Sent(line) = rig.reply("Oi", NOON).await else {
        panic!("sent")
    };
    assert!(line.test && rig.fake.sent().is_empty());
    assert_eq!(
        rig.sent_today(NOON),
        0,
        "like its messages, out of the instance's day"
    );
    let other = ReplyRequest {
        store_id: rig.store_id,
        buyer: "+5521998765432".into(),
        text: "Oi".into(),
        by: "Carla".into(),
    };
    let outcome = send_reply(&rig.db, rig.channels.as_ref(), other, NOON)
        .await
        .expect("storage");
    assert!(matches!(outcome, ReplyOutcome::Sent(l) if !l.test));
    assert_eq!(rig.db.test_replies(10).expect("read").len(), 1);
}
