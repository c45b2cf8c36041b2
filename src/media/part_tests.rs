//! Specs of media parts (`cargo test media`): which parts are media, and the pt-BR errors.

use super::*;

#[test]
fn media_part_text_parts_stay_text() {
    for text in [
        "Olá {{ customer.name }}",
        "#1 da loja",
        "# título",
        "",
        "{{ customer.name }}\n#imagem https://x.example/a.png",
    ] {
        assert_eq!(parse_part(text), Ok(None), "{text:?}");
    }
}

#[test]
fn media_part_directive_source_and_caption() {
    let part =
        parse_part("#documento {{ payment.boleto_pdf_url }}\nSeu boleto, {{ customer.name }}.\n")
            .expect("valid")
            .expect("media");
    assert_eq!(
        part,
        MediaPart {
            kind: MediaKind::Document,
            source: "{{ payment.boleto_pdf_url }}",
            caption: "Seu boleto, {{ customer.name }}.",
        }
    );
    let image = parse_part("#Imagem https://loja.example/p.jpg")
        .expect("valid")
        .expect("media");
    assert_eq!((image.kind, image.caption), (MediaKind::Image, ""));
    let audio = parse_part("#áudio https://loja.example/a.ogg")
        .expect("valid")
        .expect("media");
    assert_eq!(audio.kind, MediaKind::Audio);
    let qr = parse_part("#qrcode {{ payment.pix_code }}\nCopia e cola abaixo")
        .expect("valid")
        .expect("media");
    assert_eq!(
        (qr.kind, qr.source, qr.caption),
        (
            MediaKind::QrCode,
            "{{ payment.pix_code }}",
            "Copia e cola abaixo"
        )
    );
}

#[test]
fn media_part_errors_say_what_to_write_in_portuguese() {
    let errors: Vec<String> = [
        "#video https://x.example/v.mp4",
        "#imagem",
        "#documento boleto.pdf",
        "#audio https://x.example/a.ogg\nouça",
        "#qrcode   ",
    ]
    .iter()
    .map(|p| parse_part(p).expect_err("invalid").to_string())
    .collect();
    assert_eq!(
        errors,
        [
            "linha 1: tipo de mídia desconhecido `#video`: use #imagem, #documento, #audio ou #qrcode",
            "linha 1: falta o endereço do arquivo depois de #imagem (ex.: #imagem {{ payment.boleto_url }})",
            "linha 1: `boleto.pdf` não é um endereço https:// nem uma variável entre {{ }}",
            "linha 2: #audio não leva legenda no WhatsApp; ponha o texto numa parte própria",
            "linha 1: falta o texto do QR code depois de #qrcode (ex.: #qrcode {{ payment.pix_code }})",
        ]
    );
}
