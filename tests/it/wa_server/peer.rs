//! The stand-in's side of the Signal protocol: for every device the client asks keys for, a
//! device with its own identity, signed pre-key and one-time pre-key (the bundle WhatsApp's
//! server hands out), and the stores that let that device open what the client encrypted to it.
//! The stand-in can therefore read the `wa::Message` a buyer's phone would get.

use std::collections::HashMap;

use whatsapp_rust::async_trait;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::iq::prekeys::PreKeyBundleUserNode;
use whatsapp_rust::wacore::libsignal::protocol::{
    DeviceId, Direction, GenericSignedPreKey, IdentityChange, IdentityKey, IdentityKeyPair,
    IdentityKeyStore, KeyPair, PreKeyBundle, PreKeyId, PreKeyRecord, PreKeySignalMessage,
    PreKeyStore, ProtocolAddress, SessionRecord, SessionStore, SignalMessage, SignalProtocolError,
    SignedPreKeyId, SignedPreKeyRecord, SignedPreKeyStore, Timestamp, UsePQRatchet,
    message_decrypt_prekey, message_decrypt_signal,
};
use whatsapp_rust::wacore::messages::MessageUtils;
use whatsapp_rust::wacore::protocol::ProtocolNode;
use whatsapp_rust::wacore_binary::{Jid, Node};
use whatsapp_rust::waproto::whatsapp as wa;

type SignalResult<T> = std::result::Result<T, SignalProtocolError>;

const SIGNED_ID: u32 = 1;
const ONE_TIME_ID: u32 = 1;

/// Every device the client was given keys for, by its address (`user:device@server`).
#[derive(Default)]
pub struct Peers {
    devices: HashMap<String, Peer>,
}

impl Peers {
    /// The pre-key answer's `<user>` node for `jid`; the device is made on first ask.
    pub fn bundle(&mut self, jid: &Jid) -> Node {
        let next = 100 + self.devices.len() as u32;
        self.devices
            .entry(jid.to_string())
            .or_insert_with(|| Peer::new(next))
            .bundle_node(jid)
    }

    /// What the device `to` reads from one `<enc>` the client sent it: the message proto.
    pub async fn open(
        &mut self,
        to: &str,
        kind: &str,
        version: u8,
        bytes: &[u8],
    ) -> Option<wa::Message> {
        let peer = self.devices.get_mut(to)?;
        let plain = match peer.open(kind, bytes).await {
            Ok(plain) => plain,
            Err(e) => {
                eprintln!("wa_server: {to} could not open a {kind}: {e}");
                return None;
            }
        };
        let unpadded = MessageUtils::unpad_message_ref(&plain, version).ok()?;
        wa::Message::decode_from_slice(unpadded).ok()
    }
}

/// One device on the other end: its keys and what it learnt from the client.
struct Peer {
    identity: Identities,
    signed: SignedKeys,
    one_time: OneTimeKeys,
    sessions: Sessions,
}

impl Peer {
    fn new(registration_id: u32) -> Peer {
        let mut rng = rand::rng();
        let identity = IdentityKeyPair::from(KeyPair::generate(&mut rng));
        let signed_pair = KeyPair::generate(&mut rng);
        let signature = identity
            .private_key()
            .calculate_signature(&signed_pair.public_key.serialize(), &mut rng)
            .expect("sign the pre-key");
        let signed = SignedPreKeyRecord::new(
            SignedPreKeyId::from(SIGNED_ID),
            Timestamp::from_epoch_millis(0),
            &signed_pair,
            &signature,
        );
        let one_time = PreKeyRecord::new(PreKeyId::from(ONE_TIME_ID), &KeyPair::generate(&mut rng));
        Peer {
            identity: Identities {
                own: identity,
                registration_id,
                known: HashMap::new(),
            },
            signed: SignedKeys(signed),
            one_time: OneTimeKeys(HashMap::from([(ONE_TIME_ID, one_time)])),
            sessions: Sessions(HashMap::new()),
        }
    }

    fn bundle_node(&self, jid: &Jid) -> Node {
        let one_time = self.one_time.0.get(&ONE_TIME_ID).map(|r| {
            (
                PreKeyId::from(ONE_TIME_ID),
                r.public_key().expect("a public key"),
            )
        });
        let bundle = PreKeyBundle::new(
            self.identity.registration_id,
            DeviceId::from(u32::from(jid.device)),
            one_time,
            SignedPreKeyId::from(SIGNED_ID),
            self.signed.0.public_key().expect("a public key"),
            self.signed.0.signature().expect("a signature"),
            *self.identity.own.identity_key(),
        )
        .expect("a bundle");
        PreKeyBundleUserNode::from_bundle(jid.clone(), &bundle, None)
            .expect("a bundle node")
            .into_node()
    }

    async fn open(&mut self, kind: &str, bytes: &[u8]) -> SignalResult<Vec<u8>> {
        // The client is the only sender this device hears from.
        let from = ProtocolAddress::new("client", DeviceId::from(0));
        // A Send generator: the decrypt awaits.
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_rng(&mut rand::rng());
        let result = if kind == "pkmsg" {
            message_decrypt_prekey(
                &PreKeySignalMessage::try_from(bytes)?,
                &from,
                &mut self.sessions,
                &mut self.identity,
                &mut self.one_time,
                &self.signed,
                &mut rng,
                UsePQRatchet::No,
            )
            .await?
        } else {
            message_decrypt_signal(
                &SignalMessage::try_from(bytes)?,
                &from,
                &mut self.sessions,
                &mut self.identity,
                &mut rng,
            )
            .await?
        };
        Ok(result.plaintext)
    }
}

struct Identities {
    own: IdentityKeyPair,
    registration_id: u32,
    known: HashMap<String, IdentityKey>,
}

#[async_trait]
impl IdentityKeyStore for Identities {
    async fn get_identity_key_pair(&self) -> SignalResult<IdentityKeyPair> {
        Ok(self.own.clone())
    }

    async fn get_local_registration_id(&self) -> SignalResult<u32> {
        Ok(self.registration_id)
    }

    async fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
    ) -> SignalResult<IdentityChange> {
        let old = self.known.insert(address.to_string(), *identity);
        Ok(match old {
            Some(old) if old != *identity => IdentityChange::ReplacedExisting,
            _ => IdentityChange::NewOrUnchanged,
        })
    }

    async fn is_trusted_identity(
        &self,
        _address: &ProtocolAddress,
        _identity: &IdentityKey,
        _direction: Direction,
    ) -> SignalResult<bool> {
        Ok(true)
    }

    async fn get_identity(&self, address: &ProtocolAddress) -> SignalResult<Option<IdentityKey>> {
        Ok(self.known.get(&address.to_string()).copied())
    }
}

struct SignedKeys(SignedPreKeyRecord);

#[async_trait]
impl SignedPreKeyStore for SignedKeys {
    async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> SignalResult<SignedPreKeyRecord> {
        if u32::from(id) == SIGNED_ID {
            Ok(self.0.clone())
        } else {
            Err(SignalProtocolError::InvalidSignedPreKeyId)
        }
    }

    async fn save_signed_pre_key(
        &mut self,
        _id: SignedPreKeyId,
        record: &SignedPreKeyRecord,
    ) -> SignalResult<()> {
        self.0 = record.clone();
        Ok(())
    }
}

struct OneTimeKeys(HashMap<u32, PreKeyRecord>);

#[async_trait]
impl PreKeyStore for OneTimeKeys {
    async fn get_pre_key(&self, id: PreKeyId) -> SignalResult<PreKeyRecord> {
        self.0
            .get(&u32::from(id))
            .cloned()
            .ok_or(SignalProtocolError::InvalidPreKeyId)
    }

    async fn save_pre_key(&mut self, id: PreKeyId, record: &PreKeyRecord) -> SignalResult<()> {
        self.0.insert(u32::from(id), record.clone());
        Ok(())
    }

    async fn remove_pre_key(&mut self, id: PreKeyId) -> SignalResult<()> {
        self.0.remove(&u32::from(id));
        Ok(())
    }
}

struct Sessions(HashMap<String, SessionRecord>);

#[async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, address: &ProtocolAddress) -> SignalResult<Option<SessionRecord>> {
        Ok(self.0.get(&address.to_string()).cloned())
    }

    async fn has_session(&self, address: &ProtocolAddress) -> SignalResult<bool> {
        Ok(self.0.contains_key(&address.to_string()))
    }

    async fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: SessionRecord,
    ) -> SignalResult<()> {
        self.0.insert(address.to_string(), record);
        Ok(())
    }
}
