//! A template part is text, or media: its first line a directive naming the kind and the
//! source, the rest the caption.
//!
//! ```text
//! #documento {{ payment.boleto_pdf_url }}
//! Seu boleto, {{ customer.name | first_name }}.
//! ```
//!
//! Kinds: `#imagem`, `#documento`, `#audio` (no caption: WhatsApp shows none) with a URL or a
//! template expression giving one, and `#qrcode` with the text to draw (the PIX copia-e-cola),
//! rendered locally, never fetched. Pure.

/// What a media part sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Image,
    Document,
    Audio,
    /// A QR code image drawn by avisa from the source text.
    QrCode,
}

impl MediaKind {
    pub const ALL: [MediaKind; 4] = [
        MediaKind::Image,
        MediaKind::Document,
        MediaKind::Audio,
        MediaKind::QrCode,
    ];

    /// The directive word (`#imagem`), as the merchant types it.
    pub fn directive(self) -> &'static str {
        match self {
            MediaKind::Image => "#imagem",
            MediaKind::Document => "#documento",
            MediaKind::Audio => "#audio",
            MediaKind::QrCode => "#qrcode",
        }
    }

    pub fn takes_caption(self) -> bool {
        !matches!(self, MediaKind::Audio)
    }

    /// Whether the source is a URL to fetch (the QR code's is the text to draw).
    pub fn is_fetched(self) -> bool {
        !matches!(self, MediaKind::QrCode)
    }
}

/// A media part as written in the template (source and caption not rendered yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPart<'a> {
    pub kind: MediaKind,
    pub source: &'a str,
    pub caption: &'a str,
}

/// Why a media part cannot be used, in pt-BR (the line is always 1: the directive's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartError {
    UnknownKind(String),
    MissingSource(MediaKind),
    /// A literal source that is not an http(s) URL.
    NotAUrl(String),
    CaptionNotAllowed(MediaKind),
}

impl std::fmt::Display for PartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartError::UnknownKind(word) => write!(
                f,
                "linha 1: tipo de mídia desconhecido `{word}`: use #imagem, #documento, #audio \
                 ou #qrcode"
            ),
            PartError::MissingSource(kind) if kind.is_fetched() => write!(
                f,
                "linha 1: falta o endereço do arquivo depois de {} (ex.: {} {{{{ payment.boleto_url }}}})",
                kind.directive(),
                kind.directive()
            ),
            PartError::MissingSource(kind) => write!(
                f,
                "linha 1: falta o texto do QR code depois de {} (ex.: {} {{{{ payment.pix_code }}}})",
                kind.directive(),
                kind.directive()
            ),
            PartError::NotAUrl(source) => write!(
                f,
                "linha 1: `{source}` não é um endereço https:// nem uma variável entre {{{{ }}}}"
            ),
            PartError::CaptionNotAllowed(kind) => write!(
                f,
                "linha 2: {} não leva legenda no WhatsApp; ponha o texto numa parte própria",
                kind.directive()
            ),
        }
    }
}

impl std::error::Error for PartError {}

/// Reads a template part: `Ok(None)` for a text part, `Ok(Some(media))` for a media part, or
/// why the directive is wrong. A part is media only when its own first line (as written, not
/// as rendered) starts with `#` and a letter: a buyer's name cannot turn text into media.
pub fn parse_part(part: &str) -> Result<Option<MediaPart<'_>>, PartError> {
    let trimmed = part.trim_start();
    let Some(rest) = trimmed.strip_prefix('#') else {
        return Ok(None);
    };
    if !rest.starts_with(|c: char| c.is_alphabetic()) {
        return Ok(None);
    }
    let (first, caption) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    let (word, source) = first.split_once(char::is_whitespace).unwrap_or((first, ""));
    let kind = MediaKind::ALL
        .into_iter()
        .find(|k| k.directive().eq_ignore_ascii_case(&fold_accents(word)))
        .ok_or_else(|| PartError::UnknownKind(word.to_owned()))?;
    let source = source.trim();
    let caption = caption.trim();
    if source.is_empty() {
        return Err(PartError::MissingSource(kind));
    }
    if kind.is_fetched() && !source.contains("{{") && !is_http_url(source) {
        return Err(PartError::NotAUrl(source.to_owned()));
    }
    if !kind.takes_caption() && !caption.is_empty() {
        return Err(PartError::CaptionNotAllowed(kind));
    }
    Ok(Some(MediaPart {
        kind,
        source,
        caption,
    }))
}

fn is_http_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")) && !text.contains(' ')
}

/// `#Áudio` reads as `#audio`.
fn fold_accents(word: &str) -> String {
    word.to_lowercase()
        .replace(['á', 'â', 'ã'], "a")
        .replace(['é', 'ê'], "e")
}

#[cfg(test)]
#[path = "part_tests.rs"]
mod media_part_tests;
