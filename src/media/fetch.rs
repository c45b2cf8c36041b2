//! Fetching a media URL found in a webhook: through `net` with the caller's policy (the media
//! one: public HTTPS only, bounded), a 2xx answer only, and the bytes sniffed against the
//! part's kind. The result is content-addressed (SHA-256) so the same file is stored and
//! uploaded once. Blocking, like `net`.
//!
//! When: just before sending, in the outbox's paced slot (the planning transaction must not
//! wait on a network); the text stays rendered once at planning time, the URL with it, and a
//! fetch that fails sends the caption with the link instead, the reason in the history.

use sha2::{Digest, Sha256};

use super::MediaKind;
use super::sniff::{SniffError, check_kind};
use crate::net::{Client, NetError};

/// A fetched file that fits its part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// Sniffed from the bytes, not the server's word.
    pub mime: &'static str,
    /// The name the buyer sees on a document card.
    pub file_name: String,
    /// Lowercase hex SHA-256 of the bytes: the storage and upload key.
    pub sha256: String,
}

/// Why a media URL gave no file to send; its `Display` is the pt-BR reason for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchFailure {
    Net(NetError),
    Status(u16),
    Content(SniffError),
}

impl FetchFailure {
    /// Worth another try at the next attempt (a timeout, a 5xx); the rest fall back to text.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchFailure::Net(e) => e.is_transient(),
            FetchFailure::Status(status) => *status >= 500 || *status == 429,
            FetchFailure::Content(_) => false,
        }
    }
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchFailure::Net(NetError::Refused(r)) => write!(
                f,
                "endereço recusado por segurança: {} aponta para uma rede interna ({})",
                r.host, r.reason
            ),
            FetchFailure::Net(NetError::TooLarge { limit }) if *limit >= 1024 * 1024 => {
                write!(f, "o arquivo passa de {} MB", limit / (1024 * 1024))
            }
            FetchFailure::Net(NetError::TooLarge { limit }) => {
                write!(f, "o arquivo passa de {} KB", limit / 1024)
            }
            FetchFailure::Net(NetError::SchemeRefused(_)) => {
                f.write_str("o endereço não é https:// (a loja não aceita http)")
            }
            FetchFailure::Net(NetError::Timeout) => {
                f.write_str("o servidor do arquivo não respondeu a tempo")
            }
            FetchFailure::Net(e) => write!(f, "não consegui baixar o arquivo ({})", e.code()),
            FetchFailure::Status(status) => {
                write!(f, "o servidor do arquivo respondeu HTTP {status}")
            }
            FetchFailure::Content(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FetchFailure {}

/// Fetches `url` for a part of `kind` with `client` (built by the caller with its policy).
pub fn fetch_media(client: &Client, url: &str, kind: MediaKind) -> Result<Fetched, FetchFailure> {
    let response = client.get(url).map_err(FetchFailure::Net)?;
    if !response.is_success() {
        return Err(FetchFailure::Status(response.status));
    }
    let mime = check_kind(kind, &response.body).map_err(FetchFailure::Content)?;
    let sha256 = hex::encode(Sha256::digest(&response.body));
    let file_name = file_name(&response.final_url, mime);
    Ok(Fetched {
        bytes: response.body,
        mime,
        file_name,
        sha256,
    })
}

/// The URL's last path segment when it looks like a file name, else a name from the type.
fn file_name(url: &str, mime: &str) -> String {
    let last = url::Url::parse(url).ok().and_then(|u| {
        let segment = u.path_segments()?.next_back()?.to_owned();
        let decoded = percent_decode(&segment);
        (decoded.contains('.') && decoded.len() <= 100 && !decoded.contains(['/', '\\']))
            .then_some(decoded)
    });
    last.unwrap_or_else(|| {
        match mime {
            "application/pdf" => "boleto.pdf",
            "image/png" => "imagem.png",
            "image/jpeg" => "imagem.jpg",
            "audio/ogg" => "audio.ogg",
            "audio/mpeg" => "audio.mp3",
            _ => "arquivo",
        }
        .to_owned()
    })
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod media_fetch_tests;
