//! The redb backend against the library's own `InMemoryBackend`: long seeded random sequences
//! over every trait method, small key spaces (so overwrites, collisions, deletes of missing keys
//! and batch/single interleavings are common), every answer compared. Where a trait leaves the
//! order of a list unspecified (the reference returns HashMap order), both answers are sorted
//! before comparing. A mismatch names the seed and the op index: rerun that seed to replay it.

use std::collections::BTreeSet;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use whatsapp_rust::Jid;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::traits::{
    AppStateSyncKey, Backend, DeviceInfo, DeviceListRecord, DeviceStore, LidPnMappingEntry,
    MsgSecretEntry, PendingInboundKey, PendingInboundRow, TcTokenEntry,
};
use whatsapp_rust::wacore::store::{Device, InMemoryBackend};

use super::backend::{RedbBackend, backend, is_paired};
use crate::db::{Db, DbOptions};
use crate::domain::InstanceId;
use crate::domain::clock::{Clock, ManualClock};

/// The time the backends' fresh devices are stamped with (2025-11-18 12:00 in Brasília).
const NOW_S: i64 = 1_763_478_000;

/// The clock both backends' fresh devices are stamped from: the redb backend reads it, and the
/// reference's fresh device is given the same stamp (the library would read the wall clock).
fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::at(NOW_S))
}

mod ops;
use ops::*;

/// The variant's name, for coverage counting.
fn kind(op: &Op) -> String {
    let text = format!("{op:?}");
    text.split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// JSON with object keys sorted, so values holding HashMaps compare by content.
fn canon(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k:?}:{}", canon(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canon).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("library types serialise")
}

fn sorted<T: std::fmt::Debug>(items: impl IntoIterator<Item = T>) -> String {
    let mut texts: Vec<String> = items.into_iter().map(|i| format!("{i:?}")).collect();
    texts.sort();
    format!("{texts:?}")
}

fn text<T: std::fmt::Debug>(value: T) -> String {
    format!("{value:?}")
}

/// What a device compares as: its JSON, without the fields `Device::new()` fills at random
/// when the device was materialised by `create()` rather than saved by the caller.
fn device_answer(device: Option<Device>, random_fields: Option<&[String]>) -> String {
    match device {
        None => "None".to_owned(),
        Some(device) => {
            let mut value = json(&device);
            if let (Some(fields), Some(map)) = (random_fields, value.as_object_mut()) {
                for field in fields {
                    map.remove(field);
                }
            }
            canon(&value)
        }
    }
}

/// Runs one op against one backend and renders its answer.
async fn exec(
    op: &Op,
    b: &dyn Backend,
    devices: &[Device],
    random_fields: Option<&[String]>,
) -> String {
    use whatsapp_rust::wacore::store::error::Result;
    let answer: Result<String> = async {
        Ok(match op {
            Op::PutIdentity(a, k) => text(b.put_identity(a, *k).await?),
            Op::PutIdentitiesBatch(items) => {
                let items: Vec<(Arc<str>, [u8; 32])> = items
                    .iter()
                    .map(|(a, k)| (Arc::from(a.as_str()), *k))
                    .collect();
                text(b.put_identities_batch(&items).await?)
            }
            Op::LoadIdentity(a) => text(b.load_identity(a).await?),
            Op::DeleteIdentity(a) => text(b.delete_identity(a).await?),
            Op::GetSession(a) => text(b.get_session(a).await?),
            Op::PutSession(a, v) => text(b.put_session(a, v).await?),
            Op::PutSessionsBatch(items) => {
                let items: Vec<(Arc<str>, Bytes)> = items
                    .iter()
                    .map(|(a, v)| (Arc::from(a.as_str()), Bytes::from(v.clone())))
                    .collect();
                text(b.put_sessions_batch(&items).await?)
            }
            Op::DeleteSession(a) => text(b.delete_session(a).await?),
            Op::HasSession(a) => text(b.has_session(a).await?),
            Op::HasSignalStateForUser(u) => text(b.has_signal_state_for_user(u).await?),
            Op::StorePrekey(id, v, up) => text(b.store_prekey(*id, v, *up).await?),
            Op::StorePrekeysBatch(items, up) => {
                let items: Vec<(u32, Bytes)> = items
                    .iter()
                    .map(|(id, v)| (*id, Bytes::from(v.clone())))
                    .collect();
                text(b.store_prekeys_batch(&items, *up).await?)
            }
            Op::LoadPrekey(id) => text(b.load_prekey(*id).await?),
            Op::LoadPrekeysBatch(ids) => text(b.load_prekeys_batch(ids).await?),
            Op::MarkPrekeysUploaded(ids) => text(b.mark_prekeys_uploaded(ids).await?),
            Op::RemovePrekey(id) => text(b.remove_prekey(*id).await?),
            Op::GetMaxPrekeyId => text(b.get_max_prekey_id().await?),
            Op::StoreSignedPrekey(id, v) => text(b.store_signed_prekey(*id, v).await?),
            Op::LoadSignedPrekey(id) => text(b.load_signed_prekey(*id).await?),
            // Unspecified order (HashMap in the reference).
            Op::LoadAllSignedPrekeys => sorted(b.load_all_signed_prekeys().await?),
            Op::RemoveSignedPrekey(id) => text(b.remove_signed_prekey(*id).await?),
            Op::PutSenderKey(a, v) => text(b.put_sender_key(a, v).await?),
            Op::PutSenderKeysBatch(items) => {
                let items: Vec<(Arc<str>, Bytes)> = items
                    .iter()
                    .map(|(a, v)| (Arc::from(a.as_str()), Bytes::from(v.clone())))
                    .collect();
                text(b.put_sender_keys_batch(&items).await?)
            }
            Op::GetSenderKey(a) => text(b.get_sender_key(a).await?),
            Op::DeleteSenderKey(a) => text(b.delete_sender_key(a).await?),
            Op::GetSyncKey(id) => canon(&json(&b.get_sync_key(id).await?)),
            Op::SetSyncKey(id, key) => text(b.set_sync_key(id, key.clone()).await?),
            Op::GetVersion(name) => canon(&json(&b.get_version(name).await?)),
            Op::SetVersion(name, state) => text(b.set_version(name, state.clone()).await?),
            Op::PutMutationMacs(name, version, macs) => {
                text(b.put_mutation_macs(name, *version, macs).await?)
            }
            Op::GetMutationMac(name, mac) => text(b.get_mutation_mac(name, mac).await?),
            // A HashMap: unspecified order.
            Op::GetMutationMacs(name, macs) => sorted(b.get_mutation_macs(name, macs).await?),
            Op::DeleteMutationMacs(name, macs) => text(b.delete_mutation_macs(name, macs).await?),
            Op::ClearMutationMacs(name) => text(b.clear_mutation_macs(name).await?),
            Op::GetLatestSyncKeyId => text(b.get_latest_sync_key_id().await?),
            // Unspecified order.
            Op::GetSenderKeyDevices(group) => sorted(b.get_sender_key_devices(group).await?),
            Op::SetSenderKeyStatus(group, entries) => {
                let entries: Vec<(&str, bool)> =
                    entries.iter().map(|(d, k)| (d.as_str(), *k)).collect();
                text(b.set_sender_key_status(group, &entries).await?)
            }
            Op::ClearSenderKeyDevices(group) => text(b.clear_sender_key_devices(group).await?),
            Op::DeleteSenderKeyDeviceRows(devices) => {
                let devices: Vec<&str> = devices.iter().map(String::as_str).collect();
                text(b.delete_sender_key_device_rows(&devices).await?)
            }
            Op::ClearAllSenderKeyDevices => text(b.clear_all_sender_key_devices().await?),
            Op::GetLidMapping(lid) => canon(&json(&b.get_lid_mapping(lid).await?)),
            Op::GetPnMapping(pn) => canon(&json(&b.get_pn_mapping(pn).await?)),
            Op::PutLidMapping(entry) => text(b.put_lid_mapping(entry).await?),
            Op::PutLidMappings(entries) => text(b.put_lid_mappings(entries).await?),
            // Unspecified order.
            Op::GetAllLidMappings => {
                let all = b.get_all_lid_mappings().await?;
                sorted(all.iter().map(|e| canon(&json(e))))
            }
            Op::SaveBaseKey(a, id, k) => text(b.save_base_key(a, id, k).await?),
            Op::HasSameBaseKey(a, id, k) => text(b.has_same_base_key(a, id, k).await?),
            Op::DeleteBaseKey(a, id) => text(b.delete_base_key(a, id).await?),
            Op::UpdateDeviceList(record) => text(b.update_device_list(record.clone()).await?),
            Op::UpdateDeviceLists(records) => text(b.update_device_lists(records.clone()).await?),
            Op::GetDevices(user) => canon(&json(&b.get_devices(user).await?)),
            Op::DeleteDevices(user) => text(b.delete_devices(user).await?),
            Op::GetGroupMetadata(g) => text(b.get_group_metadata(g).await?),
            Op::PutGroupMetadata(g, v) => text(b.put_group_metadata(g, v).await?),
            Op::DeleteGroupMetadata(g) => text(b.delete_group_metadata(g).await?),
            Op::GetTcToken(jid) => canon(&json(&b.get_tc_token(jid).await?)),
            Op::PutTcToken(jid, entry) => text(b.put_tc_token(jid, entry).await?),
            Op::DeleteTcToken(jid) => text(b.delete_tc_token(jid).await?),
            // Unspecified order.
            Op::GetAllTcTokenJids => sorted(b.get_all_tc_token_jids().await?),
            Op::DeleteExpiredTcTokens(t, s) => text(b.delete_expired_tc_tokens(*t, *s).await?),
            Op::TouchTcTokenSenderTimestamp(jid, t) => {
                text(b.touch_tc_token_sender_timestamp(jid, *t).await?)
            }
            Op::StoreReceivedTcToken(jid, token, t) => {
                text(b.store_received_tc_token(jid, token, *t).await?)
            }
            Op::StoreSentMessage(chat, id, v) => text(b.store_sent_message(chat, id, v).await?),
            Op::TakeSentMessage(chat, id) => text(b.take_sent_message(chat, id).await?),
            Op::DeleteExpiredSentMessages(c) => text(b.delete_expired_sent_messages(c.at()).await?),
            Op::StorePendingInbound(c, s, id, v) => {
                text(b.store_pending_inbound(c, s, id, v).await?)
            }
            Op::GetPendingInbound(c, s, id) => text(b.get_pending_inbound(c, s, id).await?),
            Op::DeletePendingInbound(c, s, id) => text(b.delete_pending_inbound(c, s, id).await?),
            Op::DeleteExpiredPendingInbound(c) => {
                text(b.delete_expired_pending_inbound(c.at()).await?)
            }
            Op::StorePendingInboundBatch(rows) => {
                let rows: Vec<PendingInboundRow<'_>> = rows
                    .iter()
                    .map(|(chat, sender, id, message)| PendingInboundRow {
                        chat,
                        sender,
                        id,
                        message,
                    })
                    .collect();
                text(b.store_pending_inbound_batch(&rows).await?)
            }
            Op::DeletePendingInboundBatch(keys) => {
                let keys: Vec<PendingInboundKey<'_>> = keys
                    .iter()
                    .map(|(chat, sender, id)| PendingInboundKey { chat, sender, id })
                    .collect();
                text(b.delete_pending_inbound_batch(&keys).await?)
            }
            Op::PutMsgSecret(c, s, id, secret) => text(b.put_msg_secret(c, s, id, secret).await?),
            Op::PutMsgSecrets(entries) => text(b.put_msg_secrets(entries.clone()).await?),
            Op::GetMsgSecret(c, s, id) => text(b.get_msg_secret(c, s, id).await?),
            Op::GetMsgSecretWithTs(c, s, id) => text(b.get_msg_secret_with_ts(c, s, id).await?),
            Op::DeleteExpiredMsgSecrets(t) => text(b.delete_expired_msg_secrets(*t).await?),
            Op::Save(i) => text(b.save(&devices[*i]).await?),
            Op::Load => device_answer(b.load().await?, random_fields),
            Op::Exists => text(b.exists().await?),
            Op::Create => text(b.create().await?),
        })
    }
    .await;
    answer.unwrap_or_else(|e| format!("Err({e})"))
}

/// The field of `Device` that `Device::new()` stamps with the library's wall clock. It is
/// compared like any other: the redb backend stamps it from the injected clock, and the
/// reference's fresh device gets the same stamp (`Pair::step`), so neither reads wall time.
const CLOCK_STAMPED_DEVICE_FIELD: &str = "last_signed_pre_key_rotation_ms";

/// Fields of `Device` that `Device::new()` fills at random (two fresh devices disagree there);
/// never the clock-stamped one, even when the two were made in different milliseconds.
fn random_device_fields() -> Vec<String> {
    let (a, b) = (json(&Device::new()), json(&Device::new()));
    let (a, b) = (
        a.as_object().expect("object"),
        b.as_object().expect("object"),
    );
    assert!(
        a.contains_key(CLOCK_STAMPED_DEVICE_FIELD),
        "Device has no field {CLOCK_STAMPED_DEVICE_FIELD}"
    );
    let fields: Vec<String> = a
        .keys()
        .filter(|k| a.get(*k) != b.get(*k) && k.as_str() != CLOCK_STAMPED_DEVICE_FIELD)
        .cloned()
        .collect();
    assert!(
        fields.iter().any(|f| f == "identity_key") && !fields.iter().any(|f| f == "push_name"),
        "the random fields of a fresh device are its keys: {fields:?}"
    );
    fields
}

fn device_pool() -> Vec<Device> {
    let mut plain = Device::new();
    plain.push_name = "Loja Açaí".into();
    let mut paired = Device::new();
    paired.push_name = "Loja B".into();
    paired.pn = Some(
        "5511999990001@s.whatsapp.net"
            .parse::<Jid>()
            .expect("a phone JID"),
    );
    paired.registration_id = 4242;
    paired.next_pre_key_id = 77;
    paired.edge_routing_info = Some(vec![1, 2, 3]);
    vec![plain, paired, Device::new()]
}

/// Where the reference's device came from, to know which fields are comparable.
#[derive(Clone, Copy, PartialEq)]
enum DeviceOrigin {
    Absent,
    Created,
    Saved,
}

/// One reference and its redb twin, with what is needed to compare their devices.
struct Pair {
    reference: InMemoryBackend,
    redb: Arc<dyn Backend>,
    origin: DeviceOrigin,
}

impl Pair {
    fn new(db: &Arc<Db>, instance: InstanceId) -> Pair {
        Pair {
            reference: InMemoryBackend::new(),
            redb: backend(db.clone(), instance, clock()),
            origin: DeviceOrigin::Absent,
        }
    }

    async fn step(&mut self, op: &Op, ctx: &Context, seed: u64, index: usize) {
        let random = (self.origin == DeviceOrigin::Created).then_some(ctx.random_fields.as_slice());
        let expected = exec(op, &self.reference, &ctx.devices, random).await;
        if matches!(op, Op::Create) && self.origin == DeviceOrigin::Absent {
            stamp_reference_device(&self.reference).await;
        }
        let actual = exec(op, self.redb.as_ref(), &ctx.devices, random).await;
        assert_eq!(
            actual, expected,
            "redb backend disagrees with the in-memory reference: seed {seed}, op #{index}: {op:?}"
        );
        match op {
            Op::Save(_) => self.origin = DeviceOrigin::Saved,
            Op::Create if self.origin == DeviceOrigin::Absent => {
                self.origin = DeviceOrigin::Created
            }
            _ => {}
        }
    }
}

/// Gives the reference's freshly created device the stamp the redb backend reads from the
/// injected clock, as if the library's clock were that one.
async fn stamp_reference_device(reference: &InMemoryBackend) {
    let mut device = reference
        .load()
        .await
        .expect("the reference answers")
        .expect("create made a device");
    device.last_signed_pre_key_rotation_ms = NOW_S * 1000;
    reference.save(&device).await.expect("the reference saves");
}

struct Context {
    devices: Vec<Device>,
    random_fields: Vec<String>,
}

impl Context {
    fn new() -> Context {
        Context {
            devices: device_pool(),
            random_fields: random_device_fields(),
        }
    }
}

fn open(dir: &std::path::Path) -> Arc<Db> {
    Arc::new(Db::open(dir, &DbOptions::default()).expect("open the data file"))
}

/// Runs `ops` random operations from `seed`; with `reopen_every`, closes and reopens the data
/// file every that many ops. Answers the kinds of op that ran.
async fn differential(seed: u64, ops: usize, reopen_every: Option<usize>) -> BTreeSet<String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = Context::new();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut db = open(tmp.path());
    let mut pair = Pair::new(&db, InstanceId(7));
    let mut kinds = BTreeSet::new();
    for index in 0..ops {
        if let Some(every) = reopen_every
            && index > 0
            && index % every == 0
        {
            // Drop every handle on the file (the backend's via a placeholder), then open it
            // again: only what was committed is there.
            pair.redb = Arc::new(InMemoryBackend::new());
            drop(db);
            db = open(tmp.path());
            pair.redb = backend(db.clone(), InstanceId(7), clock());
        }
        let op = random_op(&mut rng, ctx.devices.len());
        kinds.insert(kind(&op));
        pair.step(&op, &ctx, seed, index).await;
    }
    kinds
}

const SEEDS: [u64; 4] = [1, 2, 0x5eed, 20_261_122];
const OPS: usize = 3_000;

#[tokio::test]
async fn random_sequences_answer_like_the_in_memory_reference() {
    for seed in SEEDS {
        let kinds = differential(seed, OPS, None).await;
        println!(
            "wa backend differential: seed {seed}: {OPS} ops, {} kinds",
            kinds.len()
        );
        assert_eq!(
            kinds.len(),
            OP_KINDS,
            "seed {seed} reached every trait method: {kinds:?}"
        );
    }
}

#[tokio::test]
async fn answers_survive_reopening_the_data_file() {
    for (seed, every) in [(11, 7), (12, 50), (13, 333)] {
        let kinds = differential(seed, 2_000, Some(every)).await;
        println!(
            "wa backend reopen: seed {seed}: 2000 ops, reopened every {every}, {} kinds",
            kinds.len()
        );
        assert_eq!(kinds.len(), OP_KINDS);
    }
}

#[tokio::test]
async fn instances_never_see_each_other_and_a_wipe_leaves_the_other_intact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = Context::new();
    let db = open(tmp.path());
    let mut pairs = [Pair::new(&db, InstanceId(1)), Pair::new(&db, InstanceId(2))];
    let seed = 99;
    let mut rng = StdRng::seed_from_u64(seed);
    for index in 0..3_000 {
        if index == 1_500 {
            assert!(db.wa_wipe_instance(InstanceId(1)).expect("wipe") > 0);
            pairs[0].reference = InMemoryBackend::new();
            pairs[0].origin = DeviceOrigin::Absent;
        }
        let op = random_op(&mut rng, ctx.devices.len());
        let which = rng.random_range(0..2);
        pairs[which].step(&op, &ctx, seed, index).await;
    }
    println!("wa backend namespaces: seed {seed}: 3000 ops over two instances, one wiped halfway");
}

#[tokio::test]
async fn a_saved_device_with_a_phone_reads_as_paired() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = open(tmp.path());
    let redb = RedbBackend::new(db.clone(), InstanceId(3), clock());
    assert!(!is_paired(&db, InstanceId(3)).expect("read"));
    redb.create().await.expect("create");
    assert!(
        !is_paired(&db, InstanceId(3)).expect("read"),
        "a fresh device is not paired"
    );
    redb.save(&device_pool()[1]).await.expect("save");
    assert!(is_paired(&db, InstanceId(3)).expect("read"));
    db.wa_wipe_instance(InstanceId(3)).expect("wipe");
    assert!(!is_paired(&db, InstanceId(3)).expect("read"));
    assert!(!redb.exists().await.expect("exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_abandoned_half_way_still_commits_before_the_next_one() {
    use std::future::Future;
    use std::task::{Context as TaskContext, Poll, Waker};
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = open(tmp.path());
    let redb = backend(db.clone(), InstanceId(5), clock());
    let address = "5511999990001:1@s.whatsapp.net";
    // Another writer (the intake writer, say) holds the file's write lock.
    let other = db.redb().begin_write().expect("write");
    let mut first = Box::pin(redb.put_session(address, b"first"));
    let polled = first
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()));
    assert!(
        matches!(polled, Poll::Pending),
        "the first write waits for the lock"
    );
    // The caller gives up on it (a timeout, a shutdown) and moves on to the next write.
    drop(first);
    let second = {
        let redb = redb.clone();
        tokio::spawn(async move { redb.put_session(address, b"second").await })
    };
    drop(other);
    second.await.expect("join").expect("second write");
    assert_eq!(
        redb.get_session(address).await.expect("read").as_deref(),
        Some(&b"second"[..]),
        "the abandoned write committed first, never over the later one"
    );
}

#[tokio::test]
async fn a_fresh_device_is_stamped_from_the_injected_clock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = open(tmp.path());
    let redb = backend(db.clone(), InstanceId(4), clock());
    redb.create().await.expect("create");
    let device = redb.load().await.expect("load").expect("a device");
    assert_eq!(device.last_signed_pre_key_rotation_ms, NOW_S * 1000);
}
