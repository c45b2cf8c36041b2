//! Pure mapping from whatsapp-rust's events to what an avisa channel publishes: a state, a
//! receipt by avisa's own message id, a buyer's text. No I/O and no clock of its own: the
//! supervisor passes `now` and the paired account, and applies the effects.

use whatsapp_rust::Jid;
use whatsapp_rust::types::events::{Event, TempBanReason};
use whatsapp_rust::types::presence::ReceiptType;
use whatsapp_rust::wacore::proto_helpers::MessageExt;

use crate::queue::channel::{ChannelState, Incoming, Receipt};

/// The paired account as the client knows it when an event arrives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// E.164, e.g. `+5511987654321`; empty before pairing.
    pub number: String,
    pub name: String,
}

/// What one library event means for the channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Publish this state.
    State(ChannelState),
    /// The QR codes ran out: this client is finished. Show "gerar novo QR".
    QrExhausted,
    /// Unlinked from the phone (or refused as logged out): wipe the device state, pair again.
    LoggedOut,
    /// Temporarily banned: pause the instance, no reconnect before `until` (Unix seconds).
    Banned { reason: String, until: i64 },
    /// Another session took this device over: stop and do not fight back.
    Replaced,
    Receipt(Receipt),
    Incoming(Incoming),
}

/// Maps one event. Events the channel does not care about map to nothing.
pub fn effects(event: &Event, account: &Account, now: i64) -> Vec<Effect> {
    match event {
        Event::Connected(_) => vec![Effect::State(ChannelState::Connected {
            number: account.number.clone(),
            name: account.name.clone(),
        })],
        Event::PairSuccess(pair) => {
            let name = if pair.business_name.is_empty() {
                account.name.clone()
            } else {
                pair.business_name.clone()
            };
            vec![Effect::State(ChannelState::Connected {
                number: e164(&pair.id),
                name,
            })]
        }
        Event::PairingQrCode(qr) => vec![Effect::State(ChannelState::WaitingForQr {
            qr: qr.code.clone(),
            expires_at: now + secs(qr.timeout),
        })],
        Event::PairingCode(code) => vec![Effect::State(ChannelState::WaitingForCode {
            code: code.code.clone(),
            expires_at: now + secs(code.timeout),
        })],
        Event::PairingQrCodesExhausted(_) => vec![Effect::QrExhausted],
        Event::LoggedOut(_) => vec![Effect::LoggedOut],
        Event::StreamReplaced(_) => vec![Effect::Replaced],
        Event::TemporaryBan(ban) => vec![Effect::Banned {
            reason: ban_reason(&ban.code),
            until: now + ban.expire.num_seconds(),
        }],
        // Only unexpected drops are reported; the client reconnects by itself.
        Event::Disconnected(_) => vec![Effect::State(ChannelState::Reconnecting)],
        Event::ServerAck(ack) if ack.class.as_deref().is_none_or(|c| c == "message") => {
            let message_id = ack.id.clone();
            vec![Effect::Receipt(match &ack.error {
                None => Receipt::ServerAck { message_id },
                Some(code) => Receipt::ServerNack {
                    message_id,
                    reason: nack_reason(code),
                },
            })]
        }
        Event::Receipt(receipt) => {
            let at = receipt.timestamp.timestamp();
            let make: fn(String, i64) -> Receipt = match receipt.r#type {
                ReceiptType::Delivered => |message_id, at| Receipt::Delivered { message_id, at },
                ReceiptType::Read | ReceiptType::Played => {
                    |message_id, at| Receipt::Read { message_id, at }
                }
                _ => return Vec::new(),
            };
            receipt
                .message_ids
                .iter()
                .map(|id| Effect::Receipt(make(id.to_string(), at)))
                .collect()
        }
        Event::Messages(batch) => batch
            .iter()
            .filter(|m| !m.info.source.is_from_me && !m.info.source.is_group)
            .filter_map(|m| {
                let text = m.message.text_content()?.trim();
                if text.is_empty() {
                    return None;
                }
                // A LID sender carries its phone as the alternate address when WhatsApp knows it.
                let source = &m.info.source;
                let phone = if source.sender.is_pn() {
                    Some(&source.sender)
                } else {
                    source.sender_alt.as_ref().filter(|j| j.is_pn())
                };
                Some(Effect::Incoming(Incoming {
                    from: phone.map(e164).unwrap_or_else(|| source.sender.to_string()),
                    text: text.to_owned(),
                    at: m.info.timestamp.timestamp(),
                }))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `5511987654321@s.whatsapp.net` → `+5511987654321`.
pub fn e164(jid: &Jid) -> String {
    format!("+{}", jid.user)
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}

/// A stable code the console translates.
fn ban_reason(code: &TempBanReason) -> String {
    match code {
        TempBanReason::SentToTooManyPeople => "sent_to_too_many_people".into(),
        TempBanReason::BlockedByUsers => "blocked_by_users".into(),
        TempBanReason::CreatedTooManyGroups => "created_too_many_groups".into(),
        TempBanReason::SentTooManySameMessage => "sent_too_many_same_message".into(),
        TempBanReason::BroadcastList => "broadcast_list".into(),
        TempBanReason::Unknown(n) => format!("unknown_{n}"),
    }
}

/// The reason a refused message carries. 463 is the common one for cold 1:1 messages.
pub fn nack_reason(code: &str) -> String {
    match code {
        "463" => "server_nack 463: WhatsApp refused a message to someone who never wrote to this \
                  number (missing privacy token)"
            .into(),
        "479" => "server_nack 479: WhatsApp refused the message (rate or spam limit)".into(),
        other => format!("server_nack {other}"),
    }
}
