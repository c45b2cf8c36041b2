//! What a fetched file really is, from its first bytes (the server's Content-Type is not
//! trusted: a boleto link that answers with an HTML login page is not a PDF), and whether that
//! fits the part's kind. Pure.

use super::MediaKind;

/// The media type the bytes start like, if avisa knows it.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"OggS") {
        Some("audio/ogg")
    } else if starts(b"ID3") || (bytes.len() >= 2 && bytes[0] == 0xff && bytes[1] & 0xe0 == 0xe0) {
        Some("audio/mpeg")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        Some(if &bytes[8..11] == b"M4A" {
            "audio/mp4"
        } else {
            "video/mp4"
        })
    } else if looks_like_html(bytes) {
        Some("text/html")
    } else {
        None
    }
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.starts_with("<head")
}

/// Why a file does not fit its part, in pt-BR (said in the message's history).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SniffError {
    /// A web page where a file was expected.
    Html,
    Unknown,
    Mismatch {
        kind: MediaKind,
        found: &'static str,
    },
}

impl std::fmt::Display for SniffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SniffError::Html => {
                f.write_str("o endereço devolveu uma página da web, não um arquivo")
            }
            SniffError::Unknown => f.write_str("o arquivo não é de um tipo que o avisa envia"),
            SniffError::Mismatch { kind, found } => {
                write!(
                    f,
                    "o arquivo é {found}, não serve para {}",
                    kind.directive()
                )
            }
        }
    }
}

impl std::error::Error for SniffError {}

/// The sniffed media type when it fits `kind`: images are JPEG or PNG (what WhatsApp shows
/// inline), documents PDF or an image (a boleto as a picture), audio Ogg/Opus, MP3 or M4A.
pub fn check_kind(kind: MediaKind, bytes: &[u8]) -> Result<&'static str, SniffError> {
    let found = sniff(bytes).ok_or(SniffError::Unknown)?;
    if found == "text/html" {
        return Err(SniffError::Html);
    }
    let fits = match kind {
        MediaKind::Image | MediaKind::QrCode => matches!(found, "image/jpeg" | "image/png"),
        MediaKind::Document => matches!(found, "application/pdf" | "image/jpeg" | "image/png"),
        MediaKind::Audio => matches!(found, "audio/ogg" | "audio/mpeg" | "audio/mp4"),
    };
    if fits {
        Ok(found)
    } else {
        Err(SniffError::Mismatch { kind, found })
    }
}

#[cfg(test)]
#[path = "sniff_tests.rs"]
mod media_sniff_tests;
