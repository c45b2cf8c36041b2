//! A claimed message's part made ready for its channel, inside the instance's paced slot: a
//! text part goes as it is; a media part (its rendered text keeps the directive, read with
//! `media::parse_part`) gets its file — drawn (`#qrcode`: the PIX QR, never fetched) or fetched
//! under `net::Policy::media()` and checked against the part — stored by SHA-256 with the
//! part's record before anything leaves, so a retry reuses it instead of fetching again.
//!
//! A file that cannot be had goes out as text with the link (the caption, then the URL or the
//! PIX code), the reason in the history. Transient trouble (a timeout, a 5xx, an upload that
//! did not finish) is retried on the ordinary schedule while the message has had fewer than
//! [`MEDIA_RETRIES`] failed attempts, then the part goes as text: the buyer gets the link
//! rather than nothing. Blocking (storage and `net`): call it from `db::blocking`.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::channel::{Attachment, AttachmentKind};
use crate::db::{Db, DbError};
use crate::domain::media::SentMedia;
use crate::domain::{Message, Reason};
use crate::media::{MediaKind, MediaPart, PartError, fetch_media, parse_part, pix_qr_png};
use crate::net::Client;

/// Failed attempts after which a media part with transient trouble goes as text (two retries:
/// 30 s, then 2 min on the schedule).
pub const MEDIA_RETRIES: u32 = 2;

/// What to hand the channel for one claimed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prepared {
    /// A text part: send it as it is.
    Text(String),
    /// A media part with its file.
    Media(Attachment),
    /// A media part whose file cannot go: send `text` (caption and link); `note` is the history
    /// line saying why (`media_as_text: …`).
    AsText { text: String, note: String },
    /// Transient trouble with the file: retry on the schedule; why, in pt-BR.
    Retry(String),
    /// Nothing to send (a media part with neither a file nor a caption), and why.
    Nothing(String),
}

/// Reads the claimed message's part and gets its file (see the module docs).
pub fn prepare(db: &Db, client: &Client, message: &Message, now: i64) -> Result<Prepared, DbError> {
    let part = match parse_part(&message.text) {
        // `#promoção de hoje` is text that starts with a hashtag, not a directive.
        Ok(None) | Err(PartError::UnknownKind(_)) => {
            return Ok(Prepared::Text(message.text.clone()));
        }
        Ok(Some(part)) => part,
        Err(e) => return Ok(unusable(&message.text, &e)),
    };
    if let Some(sent) = db.message_media(message.id)?
        && let Some(bytes) = db.media_bytes(&sent.sha256)?
    {
        return Ok(Prepared::Media(attachment(&part, &sent, bytes)));
    }
    let file = match part.kind {
        MediaKind::QrCode => pix_qr_png(part.source)
            .map(|png| {
                let sha256 = hex::encode(Sha256::digest(&png));
                (png, "image/png", "pix.png".to_owned(), sha256)
            })
            .map_err(|e| (e.to_string(), false)),
        kind => fetch_media(client, part.source, kind)
            .map(|f| (f.bytes, f.mime, f.file_name, f.sha256))
            .map_err(|e| (e.to_string(), e.is_transient())),
    };
    match file {
        Ok((bytes, mime, file_name, sha256)) => {
            let sent = SentMedia {
                sha256,
                mime: mime.to_owned(),
                file_name,
                size: bytes.len() as u64,
                stored_at: now,
            };
            db.save_message_media(message.id, &sent, &bytes)?;
            Ok(Prepared::Media(attachment(&part, &sent, bytes)))
        }
        Err((why, transient)) => Ok(trouble(&part, &why, transient, message.attempts)),
    }
}

/// What a failure of the file means for the part: a retry while transient trouble may pass, else
/// the part as text with the link.
pub fn trouble(part: &MediaPart<'_>, why: &str, transient: bool, attempts: u32) -> Prepared {
    if transient && attempts < MEDIA_RETRIES {
        return Prepared::Retry(why.to_owned());
    }
    as_text(part.caption, part.source, why)
}

/// The part as text: its caption, then the link (or the PIX code), one per line.
fn as_text(caption: &str, source: &str, why: &str) -> Prepared {
    let text = [caption.trim(), source.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if text.is_empty() {
        Prepared::Nothing(format!("nada a enviar: {why}"))
    } else {
        Prepared::AsText {
            text,
            note: Reason::MediaAsText.with(why),
        }
    }
}

/// A directive whose rendered source is wrong (the event had no URL, a literal that is no
/// link): the caption and whatever source there is, as text.
fn unusable(text: &str, error: &PartError) -> Prepared {
    let body = text.trim_start();
    let (first, caption) = body.split_once('\n').unwrap_or((body, ""));
    let source = first
        .split_once(char::is_whitespace)
        .map_or("", |(_, s)| s.trim());
    let why = match error {
        PartError::MissingSource(MediaKind::QrCode) => {
            "o evento não trouxe o código PIX".to_owned()
        }
        PartError::MissingSource(_) => "o evento não trouxe o endereço do arquivo".to_owned(),
        PartError::NotAUrl(source) => format!("`{source}` não é um endereço https://"),
        PartError::CaptionNotAllowed(kind) => {
            format!("{} não leva legenda no WhatsApp", kind.directive())
        }
        PartError::UnknownKind(word) => format!("tipo de mídia desconhecido `{word}`"),
    };
    as_text(caption, source, &why)
}

fn attachment(part: &MediaPart<'_>, sent: &SentMedia, bytes: Vec<u8>) -> Attachment {
    Attachment {
        kind: match part.kind {
            MediaKind::Image | MediaKind::QrCode => AttachmentKind::Image,
            MediaKind::Document => AttachmentKind::Document,
            MediaKind::Audio => AttachmentKind::Audio,
        },
        bytes: Arc::from(bytes),
        mime: sent.mime.clone(),
        file_name: sent.file_name.clone(),
        sha256: sent.sha256.clone(),
        caption: part.caption.to_owned(),
    }
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod media_prepare_tests;
