//! The fake channel: scripted outcomes for tests, and the sandbox an instance can be set to
//! (everything "sent" is kept for the console's sandbox inbox; nothing reaches WhatsApp).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use crate::queue::channel::{
    Attachment, AttachmentKind, Channel, ChannelState, Incoming, Pairing, PhoneFuture, Receipt,
    SendError, SendFuture, SendReceipt,
};

/// One send the fake accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeSend {
    pub to: String,
    /// The text, or a media part's caption.
    pub text: String,
    pub message_id: String,
    /// The file a media part carried; `None` for a text.
    pub media: Option<FakeMedia>,
}

/// Which file a media send carried: what the caixa de teste and the specs look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeMedia {
    pub kind: AttachmentKind,
    pub sha256: String,
    pub mime: String,
    pub file_name: String,
    pub size: usize,
}

pub struct FakeChannel {
    state: watch::Sender<ChannelState>,
    script: Mutex<VecDeque<SendError>>,
    sent: Mutex<Vec<FakeSend>>,
    receipts: broadcast::Sender<Receipt>,
    incoming: broadcast::Sender<Incoming>,
    /// The time the fake reports for sends, set by the test or the sandbox's clock.
    now: Mutex<i64>,
    /// WhatsApp addresses (`…@lid`) whose phone the fake "learnt" (`learn_address`).
    phones: Mutex<HashMap<String, String>>,
}

impl FakeChannel {
    /// A fake that starts connected as the given number.
    pub fn connected(number: &str) -> FakeChannel {
        FakeChannel::in_state(ChannelState::Connected {
            number: number.to_owned(),
            name: "Sandbox".to_owned(),
        })
    }

    /// A fake that starts in `state` (e.g. disconnected, waiting to be paired).
    pub fn in_state(state: ChannelState) -> FakeChannel {
        let (state, _) = watch::channel(state);
        FakeChannel {
            state,
            script: Mutex::new(VecDeque::new()),
            sent: Mutex::new(Vec::new()),
            receipts: broadcast::channel(1024).0,
            incoming: broadcast::channel(256).0,
            now: Mutex::new(0),
            phones: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_state(&self, state: ChannelState) {
        self.state.send_replace(state);
    }

    /// The next sends fail with these errors, in order; after them, sends succeed.
    pub fn fail_next(&self, error: SendError) {
        self.script.lock().expect("fake lock").push_back(error);
    }

    pub fn set_now(&self, now: i64) {
        *self.now.lock().expect("fake lock") = now;
    }

    pub fn sent(&self) -> Vec<FakeSend> {
        self.sent.lock().expect("fake lock").clone()
    }

    pub fn emit_receipt(&self, receipt: Receipt) {
        let _ = self.receipts.send(receipt);
    }

    /// Makes the fake know the phone behind a WhatsApp address, as the WhatsApp client learns
    /// a buyer's LID when it sends to their phone.
    pub fn learn_address(&self, address: &str, phone: &str) {
        self.phones
            .lock()
            .expect("fake lock")
            .insert(address.to_owned(), phone.to_owned());
    }

    pub fn emit_incoming(&self, message: Incoming) {
        let _ = self.incoming.send(message);
    }

    /// How many followers listen for incoming messages (a test waits for the inbox to listen
    /// before it emits).
    pub fn incoming_listeners(&self) -> usize {
        self.incoming.receiver_count()
    }
}

impl FakeChannel {
    fn accept(
        &self,
        to: &str,
        text: &str,
        message_id: &str,
        media: Option<FakeMedia>,
    ) -> Result<SendReceipt, SendError> {
        if !self.state.borrow().is_connected() {
            return Err(SendError::SessionUnavailable(
                "the sandbox is disconnected".into(),
            ));
        }
        if let Some(error) = self.script.lock().expect("fake lock").pop_front() {
            return Err(error);
        }
        self.sent.lock().expect("fake lock").push(FakeSend {
            to: to.to_owned(),
            text: text.to_owned(),
            message_id: message_id.to_owned(),
            media,
        });
        Ok(SendReceipt {
            sent_at: *self.now.lock().expect("fake lock"),
        })
    }
}

/// One call the console made on a `FakePairing`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairingCall {
    Connect,
    PairWithCode(String),
    Cancel,
    Logout,
    Shutdown,
}

/// A scripted pairing control over a `FakeChannel`: it records each call and moves the channel
/// the first step a real client would (connect -> connecting, logout -> logged out); the test
/// pushes the rest (QR codes, a pairing code, connected) with `FakeChannel::set_state`.
pub struct FakePairing {
    channel: Arc<FakeChannel>,
    calls: Mutex<Vec<PairingCall>>,
}

impl FakePairing {
    pub fn new(channel: Arc<FakeChannel>) -> FakePairing {
        FakePairing {
            channel,
            calls: Mutex::new(Vec::new()),
        }
    }

    pub fn calls(&self) -> Vec<PairingCall> {
        self.calls.lock().expect("fake lock").clone()
    }

    fn record(&self, call: PairingCall) {
        self.calls.lock().expect("fake lock").push(call);
    }
}

impl Pairing for FakePairing {
    fn connect(&self) {
        self.record(PairingCall::Connect);
        self.channel.set_state(ChannelState::Connecting);
    }

    fn pair_with_code(&self, phone: &str) {
        self.record(PairingCall::PairWithCode(phone.to_owned()));
    }

    fn cancel(&self) {
        self.record(PairingCall::Cancel);
        self.channel.set_state(ChannelState::Disconnected);
    }

    fn logout(&self) {
        self.record(PairingCall::Logout);
        self.channel.set_state(ChannelState::LoggedOut);
    }

    fn shutdown(&self) {
        self.record(PairingCall::Shutdown);
        self.channel.set_state(ChannelState::Disconnected);
    }
}

impl Channel for FakeChannel {
    fn state(&self) -> watch::Receiver<ChannelState> {
        self.state.subscribe()
    }

    fn send<'a>(&'a self, to: &'a str, text: &'a str, message_id: &'a str) -> SendFuture<'a> {
        Box::pin(async move { self.accept(to, text, message_id, None) })
    }

    /// Keeps which file went (hash, type, name, size) beside the caption; a scripted
    /// `SendError::Media` stands for an upload WhatsApp refused.
    fn send_media<'a>(
        &'a self,
        to: &'a str,
        media: &'a Attachment,
        message_id: &'a str,
    ) -> SendFuture<'a> {
        Box::pin(async move {
            let file = FakeMedia {
                kind: media.kind,
                sha256: media.sha256.clone(),
                mime: media.mime.clone(),
                file_name: media.file_name.clone(),
                size: media.bytes.len(),
            };
            self.accept(to, &media.caption, message_id, Some(file))
        })
    }

    fn receipts(&self) -> broadcast::Receiver<Receipt> {
        self.receipts.subscribe()
    }

    /// The library's own generator, as the real channel uses (no account: the sandbox has none).
    fn new_message_id(&self) -> String {
        let now = *self.now.lock().expect("fake lock");
        whatsapp_rust::wacore::request::RequestUtils::message_id_at(None, now.max(0) as u64)
    }

    fn incoming(&self) -> broadcast::Receiver<Incoming> {
        self.incoming.subscribe()
    }

    fn phone_of<'a>(&'a self, address: &'a str) -> PhoneFuture<'a> {
        let phone = self.phones.lock().expect("fake lock").get(address).cloned();
        Box::pin(async move { phone })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_fake_sends_fails_as_scripted_and_holds_while_disconnected() {
        let fake = FakeChannel::connected("+5511900000000");
        fake.set_now(100);
        assert_eq!(
            fake.send("+5511987654321", "oi", "m1").await,
            Ok(SendReceipt { sent_at: 100 })
        );
        fake.fail_next(SendError::Transient("timeout".into()));
        assert_eq!(
            fake.send("+5511987654321", "oi", "m2").await,
            Err(SendError::Transient("timeout".into()))
        );
        fake.set_state(ChannelState::Disconnected);
        assert!(matches!(
            fake.send("+5511987654321", "oi", "m3").await,
            Err(SendError::SessionUnavailable(_))
        ));
        assert_eq!(fake.sent().len(), 1);
        let mut receipts = fake.receipts();
        fake.emit_receipt(Receipt::Read {
            message_id: "m1".into(),
            at: 130,
        });
        assert_eq!(
            receipts.try_recv().expect("receipt"),
            Receipt::Read {
                message_id: "m1".into(),
                at: 130
            }
        );
    }
}
