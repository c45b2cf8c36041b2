//! Specs of how a rendered part is shown (`cargo test media`): text stays text, media parts
//! become cards with the file name and format from the address, QR parts carry their text, and
//! a directive whose address rendered empty says so.

use super::*;

fn card(rendered: &str) -> Shown {
    shown(rendered).expect("a media part")
}

#[test]
fn media_show_text_parts_are_not_cards() {
    for text in [
        "Olá, Ana! Seu boleto vence amanhã.",
        "#1 da loja",
        "#video https://x.example/v.mp4",
        "",
    ] {
        assert_eq!(shown(text), None, "{text:?}");
    }
}

#[test]
fn media_show_a_boleto_pdf_is_a_document_card_named_by_its_address() {
    let shown =
        card("#documento https://loja.example/boletos/Boleto%20123.pdf?t=9\nSeu boleto, Ana");
    assert_eq!(
        shown,
        Shown {
            kind: "document",
            url: Some("https://loja.example/boletos/Boleto%20123.pdf?t=9".into()),
            file_name: Some("Boleto 123.pdf".into()),
            format: Some("PDF".into()),
            host: Some("loja.example".into()),
            code: None,
            caption: "Seu boleto, Ana".into(),
            problem: None,
        }
    );
}

#[test]
fn media_show_an_address_without_a_file_name_gets_the_kinds_name() {
    // Ticto's boleto PDF comes from a generator page (`generationBoleto.shtml?data=…`).
    let doc = card("#documento https://live.adyen.com/hpp/generationBoleto.shtml?data=BQAB");
    assert_eq!(
        (doc.file_name.as_deref(), doc.format.as_deref()),
        (Some("documento.pdf"), Some("PDF"))
    );
    let image = card("#imagem https://cdn.example/products/123\nOlha ele aqui");
    assert_eq!(
        (
            image.kind,
            image.file_name.as_deref(),
            image.format,
            image.caption.as_str()
        ),
        ("image", Some("imagem"), None, "Olha ele aqui")
    );
    let photo = card("#imagem https://s3.example/cover-1.JPG");
    assert_eq!(photo.format.as_deref(), Some("JPG"));
    let audio = card("#audio https://loja.example/recado.ogg");
    assert_eq!(
        (
            audio.kind,
            audio.file_name.as_deref(),
            audio.format.as_deref()
        ),
        ("audio", Some("recado.ogg"), Some("OGG"))
    );
}

#[test]
fn media_show_a_qr_part_carries_its_text_and_draws_locally() {
    let qr = card("#qrcode 00020101021226900014br.gov.bcb.pix\nPague pelo QR code");
    assert_eq!(
        (qr.kind, qr.code.as_deref(), qr.url, qr.caption.as_str()),
        (
            "qrcode",
            Some("00020101021226900014br.gov.bcb.pix"),
            None,
            "Pague pelo QR code"
        )
    );
    let uri = qr_data_uri("00020101021226900014br.gov.bcb.pix").expect("fits a QR code");
    assert!(
        uri.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{uri}"
    );
    assert_eq!(
        qr_data_uri(&"9".repeat(8000)),
        None,
        "too long for a QR code"
    );
}

#[test]
fn media_show_a_source_that_rendered_empty_is_a_card_with_the_problem() {
    // `#documento {{ payment.boleto_pdf_url }}` for an event without a PDF link.
    let doc = card("#documento \nSeu boleto");
    assert_eq!(
        (doc.kind, doc.url, doc.caption.as_str()),
        ("document", None, "Seu boleto")
    );
    assert_eq!(
        doc.problem.as_deref(),
        Some(
            "linha 1: falta o endereço do arquivo depois de #documento \
             (ex.: #documento {{ payment.boleto_url }})"
        )
    );
    let image = card("#imagem boleto.pdf");
    assert_eq!(image.kind, "image");
    assert!(
        image
            .problem
            .expect("a problem")
            .contains("não é um endereço")
    );
    let qr = card("#qrcode");
    assert_eq!((qr.kind, qr.code), ("qrcode", None));
}
