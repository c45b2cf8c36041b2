//! Pure mapping from whatsapp-rust's events to what an avisa channel publishes: a state, a
//! receipt by avisa's own message id, a buyer's text. No I/O and no clock of its own: the
//! supervisor passes `now` and the paired account, and applies the effects.

use whatsapp_rust::Jid;
use whatsapp_rust::types::events::{Event, TempBanReason};
use whatsapp_rust::types::presence::ReceiptType;
use whatsapp_rust::wacore::proto_helpers::MessageExt;

use crate::domain::deliverability::timelock::Check;
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
    Banned {
        reason: String,
        until: i64,
    },
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
                    id: Some(m.info.id.to_string()).filter(|id| !id.is_empty()),
                }))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `event` is a moment to ask WhatsApp for the reachout timelock: a pairing, a login,
/// a 463 (whether to ask is then `timelock::due`'s).
pub fn timelock_check(event: &Event) -> Option<Check> {
    match event {
        Event::PairSuccess(_) => Some(Check::Paired),
        Event::Connected(_) => Some(Check::LoggedIn),
        Event::ServerAck(ack)
            if ack.error.as_deref() == Some("463")
                && ack.class.as_deref().is_none_or(|c| c == "message") =>
        {
            Some(Check::Nack463)
        }
        _ => None,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use whatsapp_rust::chrono::{TimeDelta, TimeZone, Utc};
    use whatsapp_rust::types::events::{
        BatchOrigin, ConnectFailureReason, Connected, Disconnected, InboundMessage, LoggedOut,
        MessageBatch, PairSuccess, PairingCode, PairingQrCode, PairingQrCodesExhausted,
        Receipt as LibReceipt, ServerAck, StreamReplaced, TemporaryBan,
    };
    use whatsapp_rust::types::message::{MessageInfo, MessageSource};
    use whatsapp_rust::wacore::net::DisconnectReason;
    use whatsapp_rust::wacore::proto_helpers::MessageBuilderExt;
    use whatsapp_rust::waproto::whatsapp as wa;

    use super::*;

    const NOW: i64 = 1_750_000_000;

    fn account() -> Account {
        Account {
            number: "+5511900001111".into(),
            name: "Loja da Ana".into(),
        }
    }

    fn map(event: Event) -> Vec<Effect> {
        effects(&event, &account(), NOW)
    }

    #[test]
    fn qr_codes_become_waiting_for_qr_until_they_rotate() {
        let event = Event::PairingQrCode(
            PairingQrCode::builder()
                .code("2@ref0,noise,identity,adv".into())
                .timeout(Duration::from_secs(60))
                .build(),
        );
        assert_eq!(
            map(event),
            vec![Effect::State(ChannelState::WaitingForQr {
                qr: "2@ref0,noise,identity,adv".into(),
                expires_at: NOW + 60,
            })]
        );
    }

    #[test]
    fn a_pairing_code_becomes_waiting_for_code() {
        let event = Event::PairingCode(
            PairingCode::builder()
                .code("ABCD1234".into())
                .timeout(Duration::from_secs(180))
                .build(),
        );
        assert_eq!(
            map(event),
            vec![Effect::State(ChannelState::WaitingForCode {
                code: "ABCD1234".into(),
                expires_at: NOW + 180,
            })]
        );
    }

    #[test]
    fn exhausted_qr_codes_end_the_client() {
        let event = Event::PairingQrCodesExhausted(
            PairingQrCodesExhausted::builder()
                .disconnected(true)
                .build(),
        );
        assert_eq!(map(event), vec![Effect::QrExhausted]);
    }

    #[test]
    fn pair_success_shows_the_number_and_name() {
        let event = Event::PairSuccess(
            PairSuccess::builder()
                .id(Jid::pn("5511987654321"))
                .lid(Jid::new("123456789", whatsapp_rust::Server::Lid))
                .business_name("Ana Doces".into())
                .platform("android".into())
                .build(),
        );
        assert_eq!(
            map(event),
            vec![Effect::State(ChannelState::Connected {
                number: "+5511987654321".into(),
                name: "Ana Doces".into(),
            })]
        );
    }

    #[test]
    fn connected_shows_the_paired_account() {
        assert_eq!(
            map(Event::Connected(Connected::builder().build())),
            vec![Effect::State(ChannelState::Connected {
                number: "+5511900001111".into(),
                name: "Loja da Ana".into(),
            })]
        );
    }

    #[test]
    fn an_unexpected_drop_is_reconnecting() {
        let event = Event::Disconnected(
            Disconnected::builder()
                .reason(DisconnectReason::StreamEnded)
                .build(),
        );
        assert_eq!(map(event), vec![Effect::State(ChannelState::Reconnecting)]);
    }

    #[test]
    fn logged_out_from_the_phone_wipes() {
        let event = Event::LoggedOut(
            LoggedOut::builder()
                .on_connect(false)
                .reason(ConnectFailureReason::LoggedOut)
                .build(),
        );
        assert_eq!(map(event), vec![Effect::LoggedOut]);
    }

    #[test]
    fn a_temporary_ban_pauses_until_it_expires() {
        let event = Event::TemporaryBan(
            TemporaryBan::builder()
                .code(TempBanReason::SentToTooManyPeople)
                .expire(TimeDelta::hours(24))
                .build(),
        );
        assert_eq!(
            map(event),
            vec![Effect::Banned {
                reason: "sent_to_too_many_people".into(),
                until: NOW + 24 * 3600,
            }]
        );
    }

    #[test]
    fn replaced_by_another_session_stops() {
        assert_eq!(
            map(Event::StreamReplaced(StreamReplaced::builder().build())),
            vec![Effect::Replaced]
        );
    }

    #[test]
    fn a_server_ack_is_a_receipt_and_a_nack_a_failure() {
        let ack = Event::ServerAck(
            ServerAck::builder()
                .id("AVISA42".into())
                .class("message".into())
                .build(),
        );
        assert_eq!(
            map(ack),
            vec![Effect::Receipt(Receipt::ServerAck {
                message_id: "AVISA42".into()
            })]
        );
        let nack = Event::ServerAck(
            ServerAck::builder()
                .id("AVISA43".into())
                .class("message".into())
                .error("463".into())
                .build(),
        );
        let effects = map(nack);
        let [Effect::Receipt(Receipt::ServerNack { message_id, reason })] = effects.as_slice()
        else {
            panic!("a nack is a ServerNack: {effects:?}");
        };
        assert_eq!(message_id, "AVISA43");
        assert!(reason.starts_with("server_nack 463"), "{reason}");
        let receipt_ack = Event::ServerAck(
            ServerAck::builder()
                .id("r1".into())
                .class("receipt".into())
                .build(),
        );
        assert_eq!(
            map(receipt_ack),
            vec![],
            "acks of our receipts are not sends"
        );
    }

    #[test]
    fn pairing_login_and_a_463_are_moments_to_ask_for_the_timelock() {
        let paired = Event::PairSuccess(
            PairSuccess::builder()
                .id(Jid::pn("5511987654321"))
                .lid(Jid::new("123456789", whatsapp_rust::Server::Lid))
                .business_name(String::new())
                .platform("android".into())
                .build(),
        );
        let nack = |code: &str| {
            Event::ServerAck(
                ServerAck::builder()
                    .id("3EB0A1".into())
                    .class("message".into())
                    .error(code.into())
                    .build(),
            )
        };
        let cases = [
            (paired, Some(Check::Paired)),
            (
                Event::Connected(Connected::builder().build()),
                Some(Check::LoggedIn),
            ),
            (nack("463"), Some(Check::Nack463)),
            (nack("479"), None),
            (
                Event::StreamReplaced(StreamReplaced::builder().build()),
                None,
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(timelock_check(&event), expected, "{event:?}");
        }
    }

    fn receipt(kind: ReceiptType, ids: &[&str]) -> Event {
        Event::Receipt(
            LibReceipt::builder()
                .message_ids(ids.iter().map(|s| s.to_string()).collect())
                .source(MessageSource {
                    // The buyer may answer under a LID: correlation is by id only.
                    chat: Jid::new("99887766", whatsapp_rust::Server::Lid),
                    sender: Jid::new("99887766", whatsapp_rust::Server::Lid),
                    ..Default::default()
                })
                .timestamp(Utc.timestamp_opt(NOW + 5, 0).single().expect("valid"))
                .r#type(kind)
                .offline(false)
                .build(),
        )
    }

    #[test]
    fn delivered_and_read_receipts_move_messages_by_id() {
        assert_eq!(
            map(receipt(ReceiptType::Delivered, &["AVISA1", "AVISA2"])),
            vec![
                Effect::Receipt(Receipt::Delivered {
                    message_id: "AVISA1".into(),
                    at: NOW + 5
                }),
                Effect::Receipt(Receipt::Delivered {
                    message_id: "AVISA2".into(),
                    at: NOW + 5
                }),
            ]
        );
        assert_eq!(
            map(receipt(ReceiptType::Read, &["AVISA1"])),
            vec![Effect::Receipt(Receipt::Read {
                message_id: "AVISA1".into(),
                at: NOW + 5
            })]
        );
        assert_eq!(map(receipt(ReceiptType::Retry, &["AVISA1"])), vec![]);
    }

    fn inbound(source: MessageSource, text: &str) -> InboundMessage {
        InboundMessage::builder()
            .message(Arc::new(wa::Message::text(text)))
            .info(Arc::new(MessageInfo {
                source,
                timestamp: Utc.timestamp_opt(NOW, 0).single().expect("valid"),
                id: format!("3EB0{}", text.trim()),
                ..Default::default()
            }))
            .build()
    }

    #[test]
    fn a_buyers_text_arrives_with_their_phone() {
        let from_lid = MessageSource {
            chat: Jid::new("99887766", whatsapp_rust::Server::Lid),
            sender: Jid::new("99887766", whatsapp_rust::Server::Lid),
            sender_alt: Some(Jid::pn("5511987654321")),
            ..Default::default()
        };
        let mine = MessageSource {
            chat: Jid::pn("5511987654321"),
            sender: Jid::pn("5511900001111"),
            is_from_me: true,
            ..Default::default()
        };
        let group = MessageSource {
            chat: Jid::new("1203630", whatsapp_rust::Server::Group),
            sender: Jid::pn("5511955554444"),
            is_group: true,
            ..Default::default()
        };
        let batch = MessageBatch::builder()
            .messages(Arc::from(vec![
                inbound(from_lid, " SAIR "),
                inbound(mine, "Olá, Ana"),
                inbound(group, "oi grupo"),
            ]))
            .origin(BatchOrigin::Live)
            .build();
        assert_eq!(
            map(Event::Messages(batch)),
            vec![Effect::Incoming(Incoming {
                from: "+5511987654321".into(),
                text: "SAIR".into(),
                at: NOW,
                id: Some("3EB0SAIR".into()),
            })]
        );
    }
}
