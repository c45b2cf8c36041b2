//! The operations the differential test draws: every trait method of the library's store as an
//! `Op` with its arguments, drawn from small key spaces so overwrites, collisions and deletes of
//! missing keys are common.

use super::*;

pub(super) const USERS: [&str; 4] = ["5511999990001", "551199999000", "100000012345678", "5511"];
pub(super) const DEVICE_SUFFIXES: [&str; 3] = ["", ":1", ":12"];
pub(super) const SERVERS: [&str; 2] = ["@s.whatsapp.net", "@lid"];
pub(super) const JIDS: [&str; 5] = [
    "120363021033254949@g.us",
    "120363021033254950@g.us",
    "5511999990001@s.whatsapp.net",
    "100000012345678@lid",
    "",
];
pub(super) const DEVICE_JIDS: [&str; 4] = [
    "5511999990001:1@s.whatsapp.net",
    "5511999990001@s.whatsapp.net",
    "100000012345678:2@lid",
    "x",
];
pub(super) const LIDS: [&str; 3] = ["100000012345678", "100000012345679", "100000012345680"];
pub(super) const PHONES: [&str; 3] = ["5511999990001", "5511999990002", "5511999990003"];
pub(super) const MSG_IDS: [&str; 4] = ["A", "B", "3EB0C0FFEE", ""];
pub(super) const COLLECTIONS: [&str; 4] = ["regular", "regular_high", "critical_block", ""];
pub(super) const PREKEY_IDS: [u32; 11] = [0, 1, 2, 3, 7, 255, 256, 1000, 65535, 65536, u32::MAX];

/// One call of one trait method, with its arguments. Devices are indexes into a fixed pool.
#[derive(Clone, Debug)]
pub(super) enum Op {
    PutIdentity(String, [u8; 32]),
    PutIdentitiesBatch(Vec<(String, [u8; 32])>),
    LoadIdentity(String),
    DeleteIdentity(String),
    GetSession(String),
    PutSession(String, Vec<u8>),
    PutSessionsBatch(Vec<(String, Vec<u8>)>),
    DeleteSession(String),
    HasSession(String),
    HasSignalStateForUser(String),
    StorePrekey(u32, Vec<u8>, bool),
    StorePrekeysBatch(Vec<(u32, Vec<u8>)>, bool),
    LoadPrekey(u32),
    LoadPrekeysBatch(Vec<u32>),
    MarkPrekeysUploaded(Vec<u32>),
    RemovePrekey(u32),
    GetMaxPrekeyId,
    StoreSignedPrekey(u32, Vec<u8>),
    LoadSignedPrekey(u32),
    LoadAllSignedPrekeys,
    RemoveSignedPrekey(u32),
    PutSenderKey(String, Vec<u8>),
    PutSenderKeysBatch(Vec<(String, Vec<u8>)>),
    GetSenderKey(String),
    DeleteSenderKey(String),
    GetSyncKey(Vec<u8>),
    SetSyncKey(Vec<u8>, AppStateSyncKey),
    GetVersion(String),
    SetVersion(String, HashState),
    PutMutationMacs(String, u64, Vec<AppStateMutationMAC>),
    GetMutationMac(String, Vec<u8>),
    GetMutationMacs(String, Vec<[u8; 32]>),
    DeleteMutationMacs(String, Vec<Vec<u8>>),
    ClearMutationMacs(String),
    GetLatestSyncKeyId,
    GetSenderKeyDevices(String),
    SetSenderKeyStatus(String, Vec<(String, bool)>),
    ClearSenderKeyDevices(String),
    DeleteSenderKeyDeviceRows(Vec<String>),
    ClearAllSenderKeyDevices,
    GetLidMapping(String),
    GetPnMapping(String),
    PutLidMapping(LidPnMappingEntry),
    PutLidMappings(Vec<LidPnMappingEntry>),
    GetAllLidMappings,
    SaveBaseKey(String, String, Vec<u8>),
    HasSameBaseKey(String, String, Vec<u8>),
    DeleteBaseKey(String, String),
    UpdateDeviceList(DeviceListRecord),
    UpdateDeviceLists(Vec<DeviceListRecord>),
    GetDevices(String),
    DeleteDevices(String),
    GetGroupMetadata(String),
    PutGroupMetadata(String, Vec<u8>),
    DeleteGroupMetadata(String),
    GetTcToken(String),
    PutTcToken(String, TcTokenEntry),
    DeleteTcToken(String),
    GetAllTcTokenJids,
    DeleteExpiredTcTokens(i64, i64),
    TouchTcTokenSenderTimestamp(String, i64),
    StoreReceivedTcToken(String, Vec<u8>, i64),
    StoreSentMessage(String, String, Vec<u8>),
    TakeSentMessage(String, String),
    DeleteExpiredSentMessages(Cutoff),
    StorePendingInbound(String, String, String, Vec<u8>),
    GetPendingInbound(String, String, String),
    DeletePendingInbound(String, String, String),
    DeleteExpiredPendingInbound(Cutoff),
    StorePendingInboundBatch(Vec<(String, String, String, Vec<u8>)>),
    DeletePendingInboundBatch(Vec<(String, String, String)>),
    PutMsgSecret(String, String, String, [u8; 32]),
    PutMsgSecrets(Vec<MsgSecretEntry>),
    GetMsgSecret(String, String, String),
    GetMsgSecretWithTs(String, String, String),
    DeleteExpiredMsgSecrets(i64),
    Save(usize),
    Load,
    Exists,
    Create,
}

/// How many kinds of `Op` there are; every run must reach all of them.
pub(super) const OP_KINDS: usize = 80;

/// A cutoff for the rows stamped with the library's wall clock: far from "now" on either side,
/// so both backends (which stamp a few milliseconds apart) decide the same.
#[derive(Clone, Copy, Debug)]
pub(super) enum Cutoff {
    LongAgo,
    Tomorrow,
}

impl Cutoff {
    pub(super) fn at(self) -> i64 {
        let now = whatsapp_rust::wacore::time::now_secs();
        match self {
            Cutoff::LongAgo => now - 86_400,
            Cutoff::Tomorrow => now + 86_400,
        }
    }
}

pub(super) fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())].clone()
}

pub(super) fn s(rng: &mut StdRng, items: &[&str]) -> String {
    pick(rng, items).to_owned()
}

pub(super) fn address(rng: &mut StdRng) -> String {
    format!(
        "{}{}{}",
        pick(rng, &USERS),
        pick(rng, &DEVICE_SUFFIXES),
        pick(rng, &SERVERS)
    )
}

pub(super) fn bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| pick(rng, &[0u8, 1, 0x7f, 0xff, b'@', b':']))
        .collect()
}

pub(super) fn key32(rng: &mut StdRng) -> [u8; 32] {
    let mut key = [pick(rng, &[0u8, 1, 0xff]); 32];
    key[31] = rng.random_range(0..3);
    key
}

pub(super) fn some<T>(rng: &mut StdRng, value: impl FnOnce(&mut StdRng) -> T) -> Option<T> {
    if rng.random_bool(0.5) {
        Some(value(rng))
    } else {
        None
    }
}

pub(super) fn few<T>(rng: &mut StdRng, max: usize, item: impl Fn(&mut StdRng) -> T) -> Vec<T> {
    let n = rng.random_range(0..=max);
    (0..n).map(|_| item(rng)).collect()
}

pub(super) fn ts(rng: &mut StdRng) -> i64 {
    rng.random_range(0..12)
}

pub(super) fn hash_state(rng: &mut StdRng) -> HashState {
    let mut state = HashState {
        version: rng.random_range(0..5),
        ..HashState::default()
    };
    rng.fill(&mut state.hash[..]);
    for _ in 0..rng.random_range(0..4) {
        let key = s(rng, &["a", "b", "c", ""]);
        state.index_value_map.insert(key, bytes(rng, 4));
    }
    state.mac_mismatch_fatal = rng.random_bool(0.2);
    state
}

pub(super) fn lid_entry(rng: &mut StdRng) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: s(rng, &LIDS),
        phone_number: s(rng, &PHONES),
        created_at: ts(rng),
        updated_at: ts(rng),
        learning_source: s(rng, &["usync", "peer_pn_message"]),
    }
}

pub(super) fn device_list(rng: &mut StdRng) -> DeviceListRecord {
    DeviceListRecord {
        user: s(rng, &USERS),
        devices: few(rng, 3, |rng| {
            DeviceInfo::new(rng.random_range(0..4), some(rng, |r| r.random_range(0..3)))
                .with_hosting(rng.random_bool(0.3))
        }),
        timestamp: ts(rng),
        phash: some(rng, |r| s(r, &["2:abc", "2:def"])),
        raw_id: some(rng, |r| r.random_range(0..3)),
    }
}

pub(super) fn msg_secret(rng: &mut StdRng) -> MsgSecretEntry {
    MsgSecretEntry {
        chat: Arc::from(s(rng, &JIDS)),
        sender: Arc::from(s(rng, &JIDS[2..])),
        msg_id: Arc::from(s(rng, &MSG_IDS)),
        secret: key32(rng),
        expires_at: pick(rng, &[0, 0, 3, 5, 8, 11]),
        message_ts: pick(rng, &[0, 0, 2, 6, 9]),
    }
}

pub(super) fn inbound_key(rng: &mut StdRng) -> (String, String, String) {
    (s(rng, &JIDS), s(rng, &JIDS[2..]), s(rng, &MSG_IDS))
}

pub(super) fn random_op(rng: &mut StdRng, devices: usize) -> Op {
    let prekey = |rng: &mut StdRng| pick(rng, &PREKEY_IDS);
    match rng.random_range(0..OP_KINDS) {
        0 => Op::PutIdentity(address(rng), key32(rng)),
        1 => Op::PutIdentitiesBatch(few(rng, 4, |r| (address(r), key32(r)))),
        2 => Op::LoadIdentity(address(rng)),
        3 => Op::DeleteIdentity(address(rng)),
        4 => Op::GetSession(address(rng)),
        5 => Op::PutSession(address(rng), bytes(rng, 6)),
        6 => Op::PutSessionsBatch(few(rng, 4, |r| (address(r), bytes(r, 6)))),
        7 => Op::DeleteSession(address(rng)),
        8 => Op::HasSession(address(rng)),
        9 => Op::HasSignalStateForUser(s(rng, &USERS)),
        10 => Op::StorePrekey(prekey(rng), bytes(rng, 5), rng.random_bool(0.5)),
        11 => Op::StorePrekeysBatch(
            few(rng, 4, |r| (prekey(r), bytes(r, 5))),
            rng.random_bool(0.5),
        ),
        12 => Op::LoadPrekey(prekey(rng)),
        13 => Op::LoadPrekeysBatch(few(rng, 5, prekey)),
        14 => Op::MarkPrekeysUploaded(few(rng, 4, prekey)),
        15 => Op::RemovePrekey(prekey(rng)),
        16 => Op::GetMaxPrekeyId,
        17 => Op::StoreSignedPrekey(prekey(rng), bytes(rng, 5)),
        18 => Op::LoadSignedPrekey(prekey(rng)),
        19 => Op::LoadAllSignedPrekeys,
        20 => Op::RemoveSignedPrekey(prekey(rng)),
        21 => Op::PutSenderKey(address(rng), bytes(rng, 5)),
        22 => Op::PutSenderKeysBatch(few(rng, 4, |r| (address(r), bytes(r, 5)))),
        23 => Op::GetSenderKey(address(rng)),
        24 => Op::DeleteSenderKey(address(rng)),
        25 => Op::GetSyncKey(bytes(rng, 2)),
        26 => Op::SetSyncKey(
            bytes(rng, 2),
            AppStateSyncKey {
                key_data: bytes(rng, 4),
                fingerprint: bytes(rng, 3),
                timestamp: ts(rng),
            },
        ),
        27 => Op::GetVersion(s(rng, &COLLECTIONS)),
        28 => Op::SetVersion(s(rng, &COLLECTIONS), hash_state(rng)),
        29 => Op::PutMutationMacs(
            s(rng, &COLLECTIONS),
            rng.random_range(0..9),
            few(rng, 4, |r| AppStateMutationMAC {
                index_mac: key32(r).to_vec(),
                value_mac: bytes(r, 4),
            }),
        ),
        30 => Op::GetMutationMac(s(rng, &COLLECTIONS), key32(rng).to_vec()),
        31 => Op::GetMutationMacs(s(rng, &COLLECTIONS), few(rng, 5, key32)),
        32 => Op::DeleteMutationMacs(s(rng, &COLLECTIONS), few(rng, 3, |r| key32(r).to_vec())),
        33 => Op::ClearMutationMacs(s(rng, &COLLECTIONS)),
        34 => Op::GetLatestSyncKeyId,
        35 => Op::GetSenderKeyDevices(s(rng, &JIDS)),
        36 => Op::SetSenderKeyStatus(
            s(rng, &JIDS),
            few(rng, 4, |r| (s(r, &DEVICE_JIDS), r.random_bool(0.5))),
        ),
        37 => Op::ClearSenderKeyDevices(s(rng, &JIDS)),
        38 => Op::DeleteSenderKeyDeviceRows(few(rng, 3, |r| s(r, &DEVICE_JIDS))),
        39 => Op::ClearAllSenderKeyDevices,
        40 => Op::GetLidMapping(s(rng, &LIDS)),
        41 => Op::GetPnMapping(s(rng, &PHONES)),
        42 => Op::PutLidMapping(lid_entry(rng)),
        43 => Op::PutLidMappings(few(rng, 4, lid_entry)),
        44 => Op::GetAllLidMappings,
        45 => Op::SaveBaseKey(address(rng), s(rng, &MSG_IDS), bytes(rng, 3)),
        46 => Op::HasSameBaseKey(address(rng), s(rng, &MSG_IDS), bytes(rng, 3)),
        47 => Op::DeleteBaseKey(address(rng), s(rng, &MSG_IDS)),
        48 => Op::UpdateDeviceList(device_list(rng)),
        49 => Op::UpdateDeviceLists(few(rng, 4, device_list)),
        50 => Op::GetDevices(s(rng, &USERS)),
        51 => Op::DeleteDevices(s(rng, &USERS)),
        52 => Op::GetGroupMetadata(s(rng, &JIDS)),
        53 => Op::PutGroupMetadata(s(rng, &JIDS), bytes(rng, 6)),
        54 => Op::DeleteGroupMetadata(s(rng, &JIDS)),
        55 => Op::GetTcToken(s(rng, &JIDS)),
        56 => Op::PutTcToken(
            s(rng, &JIDS),
            TcTokenEntry {
                token: bytes(rng, 3),
                token_timestamp: ts(rng),
                sender_timestamp: some(rng, ts),
            },
        ),
        57 => Op::DeleteTcToken(s(rng, &JIDS)),
        58 => Op::GetAllTcTokenJids,
        59 => Op::DeleteExpiredTcTokens(ts(rng), ts(rng)),
        60 => Op::TouchTcTokenSenderTimestamp(s(rng, &JIDS), ts(rng)),
        61 => Op::StoreReceivedTcToken(s(rng, &JIDS), bytes(rng, 3), ts(rng)),
        62 => Op::StoreSentMessage(s(rng, &JIDS), s(rng, &MSG_IDS), bytes(rng, 6)),
        63 => Op::TakeSentMessage(s(rng, &JIDS), s(rng, &MSG_IDS)),
        64 => Op::DeleteExpiredSentMessages(pick(rng, &[Cutoff::LongAgo, Cutoff::Tomorrow])),
        65 => {
            let (chat, sender, id) = inbound_key(rng);
            Op::StorePendingInbound(chat, sender, id, bytes(rng, 6))
        }
        66 => {
            let (chat, sender, id) = inbound_key(rng);
            Op::GetPendingInbound(chat, sender, id)
        }
        67 => {
            let (chat, sender, id) = inbound_key(rng);
            Op::DeletePendingInbound(chat, sender, id)
        }
        68 => Op::DeleteExpiredPendingInbound(pick(rng, &[Cutoff::LongAgo, Cutoff::Tomorrow])),
        69 => Op::StorePendingInboundBatch(few(rng, 4, |r| {
            let (chat, sender, id) = inbound_key(r);
            (chat, sender, id, bytes(r, 6))
        })),
        70 => Op::DeletePendingInboundBatch(few(rng, 4, inbound_key)),
        71 => {
            let (chat, sender, id) = inbound_key(rng);
            Op::PutMsgSecret(chat, sender, id, key32(rng))
        }
        72 => Op::PutMsgSecrets(few(rng, 4, msg_secret)),
        73 => {
            let (chat, sender, id) = inbound_key(rng);
            Op::GetMsgSecret(chat, sender, id)
        }
        74 => {
            let (chat, sender, id) = inbound_key(rng);
            Op::GetMsgSecretWithTs(chat, sender, id)
        }
        75 => Op::DeleteExpiredMsgSecrets(ts(rng)),
        76 => Op::Save(rng.random_range(0..devices)),
        77 => Op::Load,
        78 => Op::Exists,
        _ => Op::Create,
    }
}
