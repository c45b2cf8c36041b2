//! How a rendered message part is shown to the merchant (template preview, caixa de teste,
//! Mensagens): text, or a media card read from the directive the part keeps after rendering
//! (`#documento https://…/boleto.pdf` + caption). The card says what the buyer will get (kind,
//! file name, format, the address as text) without loading anything: the address came from a
//! webhook body, so the merchant's browser never fetches it. A `#qrcode` part carries its text,
//! which the page draws locally (`qr::pix_qr_png`). Pure.

use serde::Serialize;

use super::part::{MediaKind, PartError, parse_part};

/// A media part as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// `image`, `document`, `audio` or `qrcode` (the catalogs' `media.kind.*`).
    pub kind: &'static str,
    /// The file's address as rendered (fetched kinds); shown as text, never loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The file name the buyer sees: the address's last path segment when it is one, else a
    /// name for the kind (`documento.pdf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// `PDF`, `JPG`, `OGG` … from the file name; a document without one is a PDF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The address's host, beside the name (where the file comes from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// A QR code's text (the PIX copia-e-cola), drawn by avisa.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub caption: String,
    /// Why this part cannot go out as media (e.g. its address rendered empty), in pt-BR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl MediaKind {
    /// The kind's stable name in views and catalogs.
    pub fn name(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Document => "document",
            MediaKind::Audio => "audio",
            MediaKind::QrCode => "qrcode",
        }
    }
}

/// How a rendered part is shown: `None` for text. A directive whose rendered source is empty or
/// not an address still shows as its kind, with the problem: the merchant sees that the boleto
/// PDF is missing for this event instead of a line of text starting with `#documento`.
pub fn shown(rendered: &str) -> Option<Shown> {
    match parse_part(rendered) {
        Ok(None) => None,
        Ok(Some(part)) => Some(card(part.kind, part.source, part.caption, None)),
        Err(PartError::UnknownKind(_)) => None,
        Err(e @ PartError::MissingSource(kind)) => {
            Some(card(kind, "", caption_of(rendered), Some(e.to_string())))
        }
        Err(e @ PartError::NotAUrl(_)) => {
            let kind = kind_of(rendered)?;
            Some(card(kind, "", caption_of(rendered), Some(e.to_string())))
        }
        Err(e @ PartError::CaptionNotAllowed(kind)) => {
            let source = rendered.trim_start().lines().next().unwrap_or_default();
            let source = source.split_once(char::is_whitespace).map_or("", |s| s.1);
            Some(card(
                kind,
                source.trim(),
                caption_of(rendered),
                Some(e.to_string()),
            ))
        }
    }
}

fn kind_of(rendered: &str) -> Option<MediaKind> {
    let word = rendered.split_whitespace().next()?;
    let probe = format!("{word} https://x.invalid/a");
    parse_part(&probe).ok().flatten().map(|p| p.kind)
}

fn caption_of(rendered: &str) -> &str {
    rendered
        .trim_start()
        .split_once('\n')
        .map_or("", |(_, rest)| rest.trim())
}

fn card(kind: MediaKind, source: &str, caption: &str, problem: Option<String>) -> Shown {
    let caption = caption.to_owned();
    if kind == MediaKind::QrCode {
        return Shown {
            kind: kind.name(),
            url: None,
            file_name: None,
            format: Some("PNG".to_owned()),
            host: None,
            code: (!source.is_empty()).then(|| source.to_owned()),
            caption,
            problem,
        };
    }
    let parsed = url::Url::parse(source).ok();
    let file_name = parsed
        .as_ref()
        .and_then(file_name)
        .or_else(|| (problem.is_none()).then(|| default_name(kind).to_owned()));
    let format = file_name
        .as_deref()
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_uppercase())
        .filter(|ext| KNOWN_FORMATS.contains(&ext.as_str()))
        .or_else(|| (kind == MediaKind::Document).then(|| "PDF".to_owned()));
    Shown {
        kind: kind.name(),
        url: (!source.is_empty()).then(|| source.to_owned()),
        file_name,
        format,
        host: parsed.and_then(|u| u.host_str().map(str::to_owned)),
        code: None,
        caption,
        problem,
    }
}

/// Extensions shown as the format; anything else (`.shtml`, `.php`) is the server's page
/// name, not the file's type.
const KNOWN_FORMATS: [&str; 11] = [
    "PDF", "JPG", "JPEG", "PNG", "WEBP", "GIF", "OGG", "OPUS", "MP3", "M4A", "AAC",
];

/// The last path segment when it names a file of a known format.
fn file_name(url: &url::Url) -> Option<String> {
    let segment = url.path_segments()?.next_back()?;
    let decoded: String =
        form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
    let (_, ext) = decoded.rsplit_once('.')?;
    (KNOWN_FORMATS.contains(&ext.to_ascii_uppercase().as_str())
        && decoded.chars().count() <= 100
        && !decoded.contains(['/', '\\']))
    .then_some(decoded)
}

fn default_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Document => "documento.pdf",
        MediaKind::Image => "imagem",
        MediaKind::Audio => "áudio",
        MediaKind::QrCode => "qrcode.png",
    }
}

/// The QR code of `text` as a `data:image/png;base64,…` address, for a page showing a part that
/// is not stored (the template preview): the console's policy allows `data:` images, and no
/// address leaves avisa. `None` when the text does not fit a QR code.
pub fn qr_data_uri(text: &str) -> Option<String> {
    use base64::Engine as _;
    let png = super::pix_qr_png(text).ok()?;
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

#[cfg(test)]
#[path = "show_tests.rs"]
mod media_show_tests;
