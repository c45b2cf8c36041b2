//! Sending one text: resolve the buyer's WhatsApp address (asked once per number, then kept a
//! week in the data file), show "digitando…" for the instance's setting, and send under the
//! message's wire id (`3EB0…`, chosen and stored before the send). The call's `Ok` only means the stanza left: WhatsApp's ack or nack is the outcome and arrives as a
//! receipt (`events::effects`).

use std::sync::Arc;
use std::time::Duration;

use whatsapp_rust::Client;
use whatsapp_rust::Jid;
use whatsapp_rust::send::{SendError as LibSendError, SendOptions};
use whatsapp_rust::wacore::proto_helpers::MessageBuilderExt;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::db::{Db, blocking};
use crate::domain::deliverability::OnWhatsapp;
use crate::domain::{Clock, InstanceId};
use crate::queue::channel::SendError;

/// The reason a number WhatsApp does not know fails with (permanent).
pub const NOT_ON_WHATSAPP: &str = "not_on_whatsapp";

/// What the on-WhatsApp lookup said about a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// Send here (the user part of the address WhatsApp reported).
    Registered(String),
    NotOnWhatsapp,
}

/// Lookup answers by E.164 number, kept in the data file for a week per instance
/// (`Db::on_whatsapp`): a restart repeats no lookup.
pub struct AddressBook {
    db: Db,
    instance_id: InstanceId,
    clock: Arc<dyn Clock>,
}

impl AddressBook {
    pub fn new(db: Db, instance_id: InstanceId, clock: Arc<dyn Clock>) -> AddressBook {
        AddressBook {
            db,
            instance_id,
            clock,
        }
    }

    /// The answer still trusted for `e164`; `None` when unknown, stale, or unreadable (then
    /// WhatsApp is asked again).
    pub async fn get(&self, e164: &str) -> Option<Address> {
        let (db, id, e164, now) = (
            self.db.clone(),
            self.instance_id,
            e164.to_owned(),
            self.clock.now(),
        );
        match blocking(move || db.on_whatsapp(id, &e164, now)).await {
            Ok(answer) => answer.map(|a| match a.user {
                Some(user) => Address::Registered(user),
                None => Address::NotOnWhatsapp,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "stored on-WhatsApp answer not read");
                None
            }
        }
    }

    /// Remembers an answer (a failure to store it only costs a later lookup).
    pub async fn put(&self, e164: &str, address: Address) {
        let answer = OnWhatsapp {
            user: match address {
                Address::Registered(user) => Some(user),
                Address::NotOnWhatsapp => None,
            },
            checked_at: self.clock.now(),
        };
        let (db, id, e164) = (self.db.clone(), self.instance_id, e164.to_owned());
        if let Err(e) = blocking(move || db.save_on_whatsapp(id, &e164, &answer)).await {
            tracing::warn!(error = %e, "on-WhatsApp answer not stored");
        }
    }

    /// Forgets every answer (a new pairing may be a different account).
    pub fn clear(&self) {
        if let Err(e) = self.db.clear_on_whatsapp(self.instance_id) {
            tracing::warn!(error = %e, "on-WhatsApp answers not cleared");
        }
    }
}

/// The numbers to ask WhatsApp about, digits only, best first: the number as given and, for a
/// Brazilian mobile with the ninth digit, the same number without it (old accounts are still
/// registered that way).
pub fn candidates(e164: &str) -> Vec<String> {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    let mut out = vec![digits.clone()];
    if digits.len() == 13 && digits.starts_with("55") && digits.as_bytes()[4] == b'9' {
        out.push(format!("{}{}", &digits[..4], &digits[5..]));
    }
    out
}

/// Picks the address from the lookup answers `(asked, registered, reported user)`: the first
/// candidate WhatsApp says is registered, in the order `candidates` gave.
pub fn choose(asked: &[String], answers: &[(String, bool, String)]) -> Address {
    asked
        .iter()
        .find_map(|number| {
            answers
                .iter()
                .find(|(q, registered, _)| q == number && *registered)
                .map(|(_, _, user)| Address::Registered(user.clone()))
        })
        .or_else(|| {
            // WhatsApp may answer under its own spelling of the number: still registered.
            answers
                .iter()
                .find(|(_, registered, _)| *registered)
                .map(|(_, _, user)| Address::Registered(user.clone()))
        })
        .unwrap_or(Address::NotOnWhatsapp)
}

/// Resolves `e164` through the cache or the library's lookup.
pub async fn resolve(
    client: &Arc<Client>,
    book: &AddressBook,
    e164: &str,
) -> Result<Address, SendError> {
    if let Some(known) = book.get(e164).await {
        return Ok(known);
    }
    let asked = candidates(e164);
    let jids: Vec<Jid> = asked.iter().map(|n| Jid::pn(n.as_str())).collect();
    let results = client
        .contacts()
        .is_on_whatsapp(&jids)
        .await
        .map_err(|e| SendError::Transient(format!("on-WhatsApp lookup: {e}")))?;
    let answers: Vec<(String, bool, String)> = results
        .iter()
        .map(|r| {
            // The answer names the number asked in `jid` (or in `pn_jid` when it leads with a LID).
            let asked = r
                .pn_jid
                .as_ref()
                .filter(|_| r.jid.is_lid())
                .unwrap_or(&r.jid);
            (
                asked.user.to_string(),
                r.is_registered,
                asked.user.to_string(),
            )
        })
        .collect();
    let address = choose(&asked, &answers);
    book.put(e164, address.clone()).await;
    Ok(address)
}

/// Sends `text` to `e164` as `message_id`, with `typing` of "digitando…" first.
pub async fn send_text(
    client: &Arc<Client>,
    book: &AddressBook,
    e164: &str,
    text: &str,
    message_id: &str,
    typing: Duration,
) -> Result<(), SendError> {
    send_message(
        client,
        book,
        e164,
        wa::Message::text(text),
        message_id,
        typing,
    )
    .await
}

/// Sends `message` (a text, or a media message built by `media::message`) to `e164` as
/// `message_id`, with `typing` of "digitando…" first.
pub async fn send_message(
    client: &Arc<Client>,
    book: &AddressBook,
    e164: &str,
    message: wa::Message,
    message_id: &str,
    typing: Duration,
) -> Result<(), SendError> {
    if !client.is_logged_in() {
        return Err(SendError::SessionUnavailable("not connected".into()));
    }
    let user = match resolve(client, book, e164).await? {
        Address::Registered(user) => user,
        Address::NotOnWhatsapp => return Err(SendError::Permanent(NOT_ON_WHATSAPP.into())),
    };
    let to = Jid::pn(user.as_str());
    if !typing.is_zero() {
        // Presence is cosmetic: a failure here must not cost the message.
        if let Err(e) = client.chatstate().send_composing(&to).await {
            tracing::debug!(error = %e, "typing presence not sent");
        }
        tokio::time::sleep(typing).await;
        let _ = client.chatstate().send_paused(&to).await;
    }
    client
        .send_message_with_options(
            to,
            message,
            SendOptions::default().with_message_id(message_id),
        )
        .await
        .map(|_| ())
        .map_err(classify)
}

fn classify(error: LibSendError) -> SendError {
    match error {
        LibSendError::NotLoggedIn => SendError::SessionUnavailable(error.to_string()),
        LibSendError::InvalidRequest(_) => SendError::Permanent(error.to_string()),
        other => SendError::Transient(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brazilian_mobile_is_also_asked_without_the_ninth_digit() {
        assert_eq!(
            candidates("+5511987654321"),
            vec!["5511987654321".to_owned(), "551187654321".to_owned()]
        );
    }

    #[test]
    fn other_numbers_are_asked_as_given() {
        assert_eq!(candidates("+551133334444"), vec!["551133334444".to_owned()]);
        assert_eq!(candidates("+14155550123"), vec!["14155550123".to_owned()]);
    }

    #[test]
    fn the_registered_candidate_wins_in_candidate_order() {
        let asked = candidates("+5511987654321");
        let old_account = [
            (
                "5511987654321".to_owned(),
                false,
                "5511987654321".to_owned(),
            ),
            ("551187654321".to_owned(), true, "551187654321".to_owned()),
        ];
        assert_eq!(
            choose(&asked, &old_account),
            Address::Registered("551187654321".into())
        );
        let both = [
            ("551187654321".to_owned(), true, "551187654321".to_owned()),
            ("5511987654321".to_owned(), true, "5511987654321".to_owned()),
        ];
        assert_eq!(
            choose(&asked, &both),
            Address::Registered("5511987654321".into())
        );
    }

    #[test]
    fn nobody_registered_is_not_on_whatsapp() {
        let asked = candidates("+5511987654321");
        assert_eq!(choose(&asked, &[]), Address::NotOnWhatsapp);
        let none = [(
            "5511987654321".to_owned(),
            false,
            "5511987654321".to_owned(),
        )];
        assert_eq!(choose(&asked, &none), Address::NotOnWhatsapp);
    }
}
