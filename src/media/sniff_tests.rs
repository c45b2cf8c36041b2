//! Specs of MIME sniffing against the part's kind (`cargo test media`).

use super::*;

#[test]
fn media_sniff_table() {
    let cases: &[(&[u8], Option<&str>)] = &[
        (b"%PDF-1.7\n...", Some("application/pdf")),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some("image/png")),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", Some("image/jpeg")),
        (b"GIF89a....", Some("image/gif")),
        (b"RIFF\0\0\0\0WEBPVP8 ", Some("image/webp")),
        (b"OggS\0\x02", Some("audio/ogg")),
        (b"ID3\x04\0", Some("audio/mpeg")),
        (b"\0\0\0\x20ftypM4A \0", Some("audio/mp4")),
        (b"\0\0\0\x20ftypisom\0", Some("video/mp4")),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html>", Some("text/html")),
        (b"\n<html lang=pt-BR>", Some("text/html")),
        (b"{\"error\":\"not found\"}", None),
        (b"", None),
    ];
    for (bytes, want) in cases {
        assert_eq!(sniff(bytes), *want, "{:?}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn media_a_boleto_link_that_answers_html_is_not_a_pdf() {
    let page = b"<!doctype html><title>Entrar</title>";
    assert_eq!(check_kind(MediaKind::Document, page), Err(SniffError::Html));
    assert_eq!(
        check_kind(MediaKind::Document, page)
            .unwrap_err()
            .to_string(),
        "o endereço devolveu uma página da web, não um arquivo"
    );
}

#[test]
fn media_kind_checks() {
    assert_eq!(
        check_kind(MediaKind::Document, b"%PDF-1.4"),
        Ok("application/pdf")
    );
    assert_eq!(
        check_kind(MediaKind::Image, b"\xff\xd8\xff\xdb"),
        Ok("image/jpeg")
    );
    assert_eq!(
        check_kind(MediaKind::Image, b"%PDF-1.4"),
        Err(SniffError::Mismatch {
            kind: MediaKind::Image,
            found: "application/pdf"
        })
    );
    assert_eq!(
        check_kind(MediaKind::Image, b"%PDF-1.4")
            .unwrap_err()
            .to_string(),
        "o arquivo é application/pdf, não serve para #imagem"
    );
    assert_eq!(check_kind(MediaKind::Audio, b"OggS\0"), Ok("audio/ogg"));
    assert_eq!(
        check_kind(MediaKind::Document, b"plain text"),
        Err(SniffError::Unknown)
    );
}
