//! Specs of media parts in the template editor (`cargo test media`): the insert buttons write a
//! directive into a part of its own, media parts are accepted, and a wrong directive is an error
//! naming the step, the part and the line.

use super::*;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn media_insert_buttons_fill_a_blank_part_or_add_one() {
    let (mut form, action) = EditorForm::from_pairs(&pairs(&[
        ("delay.0", "0"),
        ("part.0.0", "Seu boleto chegou"),
        ("action", "add_media.0.document"),
    ]));
    assert_eq!(action, Some(Action::AddMedia(0, MediaKind::Document)));
    form.apply(Action::AddMedia(0, MediaKind::Document));
    assert_eq!(
        form.steps[0].parts,
        [
            "Seu boleto chegou",
            "#documento {{ payment.boleto_pdf_url }}\nSeu boleto em PDF."
        ]
    );
    form.apply(Action::AddPart(0));
    form.apply(Action::AddMedia(0, MediaKind::QrCode));
    assert!(form.steps[0].parts[2].starts_with("#qrcode {{ payment.pix_code }}\n"));
    // Full: a fourth part is not added.
    form.apply(Action::AddMedia(0, MediaKind::Image));
    assert_eq!(form.steps[0].parts.len(), MAX_PARTS);
    for value in ["add_media.0.video", "add_media.x.image", "add_media.0"] {
        let (_, action) = EditorForm::from_pairs(&pairs(&[("action", value)]));
        assert_eq!(action, None, "{value}");
    }
}

#[test]
fn media_every_insert_snippet_is_a_valid_part_once_completed() {
    let mut form = EditorForm {
        steps: vec![StepForm {
            delay: "0".into(),
            parts: vec![String::new()],
        }],
        ..EditorForm::default()
    };
    for kind in [MediaKind::Image, MediaKind::Document, MediaKind::QrCode] {
        form.steps[0].parts = vec![String::new()];
        form.apply(Action::AddMedia(0, kind));
        let template = form
            .validate_with_vars(EventKind::BoletoGenerated, &[])
            .expect("valid");
        let part = &template.steps[0].parts[0];
        let media = media::parse_part(part).expect("valid").expect("media");
        assert_eq!(media.kind, kind);
    }
    // The audio snippet leaves the address for the merchant to finish.
    form.steps[0].parts = vec![format!("{}recado.ogg", media_snippet(MediaKind::Audio))];
    assert!(form.validate_with_vars(EventKind::OrderPaid, &[]).is_ok());
}

#[test]
fn media_directive_errors_name_the_step_the_part_and_the_line() {
    let (form, _) = EditorForm::from_pairs(&pairs(&[
        ("delay.0", "0"),
        ("part.0.0", "Olá {{ customer.first_name }}"),
        ("part.0.1", "#video https://loja.example/v.mp4"),
        ("part.0.2", "#imagem"),
        ("delay.1", "1d"),
        ("part.1.0", "#documento boleto.pdf"),
        (
            "part.1.1",
            "#audio https://loja.example/a.ogg\nouça o recado",
        ),
        ("part.1.2", "#documento {{ payment.boleto_pdf }}"),
    ]));
    let errors = form
        .validate_with_vars(EventKind::BoletoGenerated, &[])
        .expect_err("invalid");
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.step, e.part, e.line, e.code, e.detail.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (1, Some(2), Some(1), "media_unknown_kind", "#video"),
            (1, Some(3), Some(1), "media_missing_source", "#imagem"),
            (2, Some(1), Some(1), "media_not_a_url", "boleto.pdf"),
            (2, Some(2), Some(2), "media_caption", "#audio"),
            // The source is a template expression: a typo is the template's own error.
            (
                2,
                Some(3),
                Some(1),
                "unknown_variable",
                "payment.boleto_pdf"
            ),
        ]
    );
}

#[test]
fn media_parts_with_captions_and_expressions_are_accepted() {
    let (form, _) = EditorForm::from_pairs(&pairs(&[
        ("enabled", "1"),
        ("delay.0", "0"),
        ("part.0.0", "{{ saudacao }}! Seu PIX está pronto."),
        (
            "part.0.1",
            "#qrcode {{ payment.pix_code }}\r\nAponte a câmera, {{ customer.first_name }}.",
        ),
        ("part.0.2", "{{ payment.pix_code }}"),
        ("delay.1", "1d"),
        (
            "part.1.0",
            "#imagem {{ product_image_url }}\n{{ product_names }}",
        ),
        ("part.1.1", "#Áudio https://loja.example/lembrete.ogg"),
    ]));
    let template = form
        .validate_with_vars(EventKind::PixGenerated, &[])
        .expect("valid");
    assert_eq!(
        template.steps[0].parts[1],
        "#qrcode {{ payment.pix_code }}\nAponte a câmera, {{ customer.first_name }}."
    );
}
