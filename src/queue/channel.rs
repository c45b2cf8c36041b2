//! The sending interface, defined by its consumer (the outbox and the inbox): one `Channel` per
//! instance, found through a `ChannelLookup`. `channels/` implements both (the WhatsApp client,
//! the fake used by tests and the visible sandbox, the registry), so `queue` never imports it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::domain::InstanceId;

/// What an instance's connection is doing, as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChannelState {
    Connecting,
    /// Pairing: show this QR payload until `expires_at` (Unix seconds).
    WaitingForQr {
        qr: String,
        expires_at: i64,
    },
    /// Pairing by phone number: type this 8-character code on the phone before `expires_at`.
    WaitingForCode {
        code: String,
        expires_at: i64,
    },
    /// The QR codes ran out (about 160 s) before anyone scanned one: offer a new QR.
    PairingExpired,
    /// A paired session lost its connection and is trying again.
    Reconnecting,
    /// Connecting a number that was never connected could not reach WhatsApp: the client is
    /// stopped (no endless retries); Conectar tries again.
    Failed {
        reason: Unreachable,
        /// The network error as the library gave it (English, for the log and support).
        detail: String,
    },
    Connected {
        number: String,
        name: String,
    },
    /// Unlinked from the phone: the device state is gone; pair again.
    LoggedOut,
    TemporarilyBanned {
        reason: String,
        until: i64,
    },
    /// Another session took over this device.
    Replaced,
    Disconnected,
}

/// Why WhatsApp could not be reached, as the console explains it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreachable {
    /// No route: the machine has no internet (network unreachable, no route to host).
    NoInternet,
    /// The server's name could not be resolved (DNS).
    Dns,
    /// Something answered and refused the connection (a firewall, a wrong address).
    Refused,
    /// Nothing answered in time.
    Timeout,
    /// The secure connection failed (a proxy intercepting, a wrong clock).
    Tls,
    Other,
}

impl Unreachable {
    /// The stable code the pages translate (`instances.unreachable.<code>`).
    pub fn code(self) -> &'static str {
        match self {
            Unreachable::NoInternet => "no_internet",
            Unreachable::Dns => "dns",
            Unreachable::Refused => "refused",
            Unreachable::Timeout => "timeout",
            Unreachable::Tls => "tls",
            Unreachable::Other => "other",
        }
    }
}

impl ChannelState {
    pub fn is_connected(&self) -> bool {
        matches!(self, ChannelState::Connected { .. })
    }
}

/// A send WhatsApp's servers took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    pub sent_at: i64,
}

/// Why a send did not happen; the outbox branches on the class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Try again on the retry schedule.
    Transient(String),
    /// Slow down: retry later than the schedule says.
    RateLimited(String),
    /// No live session (disconnected, pairing): hold the message, do not count an attempt.
    SessionUnavailable(String),
    /// Never going to work (not on WhatsApp, refused): the message fails.
    Permanent(String),
    /// The channel could not take the part's file (the upload failed or was refused), with the
    /// pt-BR reason: the outbox sends the part as text with the link instead (after a retry when
    /// `transient`). Only `send_media` answers it.
    Media { reason: String, transient: bool },
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(e) => write!(f, "transient: {e}"),
            SendError::RateLimited(e) => write!(f, "rate limited: {e}"),
            SendError::SessionUnavailable(e) => write!(f, "session unavailable: {e}"),
            SendError::Permanent(e) => write!(f, "permanent: {e}"),
            SendError::Media { reason, .. } => write!(f, "media: {reason}"),
        }
    }
}

/// How WhatsApp shows a file (a PIX QR code goes as an image).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachmentKind {
    Image,
    Document,
    Audio,
}

/// The file a media part carries, ready for a channel: the bytes (fetched or drawn, checked
/// against the part), what they are and the caption the buyer reads under them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub bytes: Arc<[u8]>,
    /// Sniffed from the bytes.
    pub mime: String,
    /// The name a document card shows.
    pub file_name: String,
    /// Lowercase hex SHA-256 of the bytes: a channel uploads a file once per hash.
    pub sha256: String,
    /// Empty for none (audio never has one).
    pub caption: String,
}

/// What WhatsApp reports after a send, by avisa's message id (never by chat address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Receipt {
    ServerAck {
        message_id: String,
    },
    /// The server refused the message (e.g. 463): a failure, not a success.
    ServerNack {
        message_id: String,
        reason: String,
    },
    Delivered {
        message_id: String,
        at: i64,
    },
    Read {
        message_id: String,
        at: i64,
    },
}

/// A message a buyer sent to the instance (opt-out words arrive here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// E.164, or the WhatsApp address as given when the channel could not map it to a phone.
    pub from: String,
    pub text: String,
    pub at: i64,
    /// WhatsApp's id of the message, when the channel knows it: a redelivery with the same id
    /// is handled once.
    pub id: Option<String>,
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<SendReceipt, SendError>> + Send + 'a>>;

/// The phone behind a WhatsApp address, when the channel knows it (`Channel::phone_of`).
pub type PhoneFuture<'a> = Pin<Box<dyn Future<Output = Option<String>> + Send + 'a>>;

/// The console's control of a real WhatsApp connection. Outcomes arrive on the channel's state
/// stream, never as return values, so the page simply follows the stream.
pub trait Pairing: Send + Sync {
    /// Connects. An unpaired device starts showing QR codes; after they ran out (or after a
    /// logout) a fresh client replaces the dead one.
    fn connect(&self);
    /// Pairs by phone number instead of QR: the code arrives as `ChannelState::WaitingForCode`.
    fn pair_with_code(&self, phone: &str);
    /// Stops the attempt in progress (connecting, reconnecting, a QR or code on screen): the
    /// state becomes disconnected until the next `connect`.
    fn cancel(&self);
    /// Unlinks this device from the phone and wipes the instance's device state.
    fn logout(&self);
    /// Stops the connection for good (instance deleted or switched to sandbox; avisa stopping).
    fn shutdown(&self);
}

/// One WhatsApp number (or its stand-in).
pub trait Channel: Send + Sync {
    fn state(&self) -> watch::Receiver<ChannelState>;
    /// Sends `text` to the E.164 phone `to` under `message_id` (from `new_message_id`).
    fn send<'a>(&'a self, to: &'a str, text: &'a str, message_id: &'a str) -> SendFuture<'a>;
    /// Sends a file with its caption to `to` under `message_id`. A file the channel cannot take
    /// answers `SendError::Media` (the outbox then sends the part as text); the other errors
    /// mean what they mean for `send`.
    fn send_media<'a>(
        &'a self,
        to: &'a str,
        media: &'a Attachment,
        message_id: &'a str,
    ) -> SendFuture<'a>;
    /// A fresh message id for the wire, shaped like WhatsApp Web's (`3EB0` + 18 hex digits), so
    /// avisa's messages do not announce an automated sender. The outbox stores it before the
    /// send; receipts come back under it.
    fn new_message_id(&self) -> String;
    fn receipts(&self) -> broadcast::Receiver<Receipt>;
    fn incoming(&self) -> broadcast::Receiver<Incoming>;
    /// The E.164 phone behind `address`, a WhatsApp address an `Incoming` carried because the
    /// message came without a phone (a LID-only sender, `…@lid`), from the LID↔phone mapping
    /// the channel has learnt (sending to a phone teaches it the phone's LID); `None` when it
    /// does not know.
    fn phone_of<'a>(&'a self, address: &'a str) -> PhoneFuture<'a>;
}

/// Finds each instance's live channel. The registry in `channels/` implements it; the outbox and
/// the inbox only look channels up, they never build one.
pub trait ChannelLookup: Send + Sync {
    /// The live channel of `instance_id`, if it has one.
    fn channel(&self, instance_id: InstanceId) -> Option<Arc<dyn Channel>>;
    /// Every instance that has a channel.
    fn instance_ids(&self) -> Vec<InstanceId>;
    /// Fires whenever the set of channels changes, so followers pick up channels that appear
    /// after they started.
    fn changes(&self) -> watch::Receiver<u64>;
}
