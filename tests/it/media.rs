//! Media parts through the console (issue 16, the showing side): a store's boleto template with
//! a PDF and a PIX QR part, a webhook of avisa's own format carrying `payment.boleto_pdf_url`,
//! and what the merchant then sees — the QR image served by avisa (decoded back to the exact
//! copia-e-cola), cards in Mensagens, the editor refusing a wrong directive. The browser half
//! is `browser_media.rs`.

use std::time::Duration;

use avisa::domain::planning::QuietHours;
use avisa::domain::template::{MessageTemplate, StepDelay, TemplateStep};
use avisa::domain::{EventKind, Message, MessageStatus, Platform, StoreId};
use serde_json::json;

use crate::support::TestApp;

/// A real-shaped PIX copia-e-cola (a "bolepix": the boleto also payable by PIX).
pub(crate) const PIX: &str = "00020101021226900014br.gov.bcb.pix2568qrpix.bradesco.com.br/qr/v2/cobv/\
9d36b84f-c70b-478f-b95c-12729b90ca25520400005303986540519700.005802BR5914LOJA DOCE LTDA6009SAO PAULO\
62070503***6304ABCD";

/// An address on a private network: since media is sent, the caixa de teste fetches a part's
/// file as a send would, and the SSRF guard refuses this one before any network call (no DNS, no
/// wait), so the part falls back to text at once and these tests never touch the network. The
/// message keeps its rendered directive, which is what the console shows.
pub(crate) const PDF_URL: &str = "https://10.20.30.40/boleto/7781/boleto-7781.pdf";

/// The boleto template: a greeting, the boleto as a PDF, the PIX QR.
pub(crate) fn boleto_template() -> MessageTemplate {
    MessageTemplate {
        kind: EventKind::BoletoGenerated,
        enabled: true,
        ask_reply: Default::default(),
        steps: vec![TemplateStep {
            delay: StepDelay::After { minutes: 0 },
            parts: vec![
                "{{ saudacao }}! Seu boleto do pedido {{ order_id }} está pronto.".into(),
                "#documento {{ payment.boleto_pdf_url }}\nSeu boleto em PDF, {{ customer.first_name }}."
                    .into(),
                "#qrcode {{ payment.pix_code }}\nPrefere PIX? Aponte a câmera do app do banco.".into(),
            ],
        }],
    }
}

/// A store in modo teste with the boleto template, one boleto event of avisa's own format, and
/// its three parts delivered to the caixa de teste. Returns the store id and the messages in
/// part order.
pub(crate) async fn arrange(app: &TestApp) -> (u64, Vec<Message>) {
    let mut settings = app.db.message_settings().expect("settings");
    settings.quiet_hours = QuietHours {
        start_min: 0,
        end_min: 0,
    };
    app.db.save_message_settings(&settings).expect("saved");
    let (store, token) = crate::events::create_store(app, Platform::Api, "Loja Doce");
    app.db
        .update_store(StoreId(store), |s| s.test_mode = true)
        .expect("modo teste");
    app.db
        .save_template(StoreId(store), &boleto_template())
        .expect("template");
    let body = json!({
        "kind": "boleto.generated", "event_id": "bol-7781", "order_id": "7781",
        "customer": { "name": "Ana Souza", "phone": "11987654321" },
        "products": [ { "name": "Curso de Confeitaria", "quantity": 1, "price_cents": 19700 } ],
        "total_cents": 19700,
        "payment": {
            "method": "boleto", "boleto_url": "https://minhaloja.example.com/boleto/7781",
            "boleto_pdf_url": PDF_URL, "pix_code": PIX, "due_at": "2025-05-09"
        }
    });
    let (status, _) = crate::events::post_webhook(app, &token, body.to_string(), &[]).await;
    assert_eq!(status, 202);
    let db = app.db.clone();
    let messages = tokio::time::timeout(Duration::from_secs(120), async move {
        loop {
            let mut all = db
                .list_messages(&avisa::db::MessageFilter {
                    limit: 100,
                    ..Default::default()
                })
                .expect("messages");
            if all.len() == 3 && all.iter().all(|m| m.status == MessageStatus::Sent) {
                all.sort_by_key(|m| m.part);
                break all;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the three parts reach the caixa de teste");
    (store, messages)
}

/// The page's HTML with minijinja's attribute-safe escapes undone (`/` is written `&#x2f;`).
fn unescaped(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Reads a 1-bit or 8-bit greyscale PNG's QR code with rqrr (the test's own small decoder).
fn decode_png_qr(png: &[u8]) -> String {
    use std::io::Read;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let (mut at, mut side, mut idat) = (8, 0usize, Vec::new());
    loop {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().expect("len")) as usize;
        let data = &png[at + 8..at + 8 + len];
        match &png[at + 4..at + 8] {
            b"IHDR" => side = u32::from_be_bytes(data[0..4].try_into().expect("w")) as usize,
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("zlib");
    let row = side.div_ceil(8) + 1;
    let pixel = |x: usize, y: usize| {
        let byte = raw[y * row + 1 + x / 8];
        if byte & (0x80 >> (x % 8)) != 0 {
            255
        } else {
            0
        }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, pixel);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("decodes").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_the_qr_part_is_served_by_avisa_and_decodes_to_the_exact_copia_e_cola() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, messages) = arrange(&app).await;
    assert_eq!(
        messages[1].text,
        format!("#documento {PDF_URL}\nSeu boleto em PDF, Ana.")
    );
    let qr = &messages[2];
    let response = admin
        .get(app.at(&format!("/mensagens/{}/qrcode.png", qr.id)))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("ascii"),
        "image/png"
    );
    let png = response.bytes().await.expect("body");
    assert_eq!(decode_png_qr(&png), PIX);
    // A text or document part has no QR image; an anonymous caller gets none either.
    for m in &messages[..2] {
        let status = admin
            .get(app.at(&format!("/mensagens/{}/qrcode.png", m.id)))
            .send()
            .await
            .expect("answers")
            .status();
        assert_eq!(status, 404, "part {}", m.part);
    }
    let anonymous = app
        .client()
        .get(app.at(&format!("/mensagens/{}/qrcode.png", qr.id)))
        .send()
        .await
        .expect("answers");
    assert_ne!(anonymous.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_mensagens_shows_cards_and_never_loads_the_webhooks_address() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (_, messages) = arrange(&app).await;
    let page = |path: String| {
        let admin = admin.clone();
        let url = app.at(&path);
        async move {
            admin
                .get(url)
                .send()
                .await
                .expect("answers")
                .text()
                .await
                .map(|html| unescaped(&html))
                .expect("html")
        }
    };
    let list = page("/mensagens".into()).await;
    assert!(
        list.contains(r#"data-testid="media-tag">Documento PDF</span>"#),
        "{list}"
    );
    assert!(list.contains("boleto-7781.pdf"));
    let detail = page(format!("/mensagens/{}", messages[1].id)).await;
    assert!(detail.contains(r#"data-testid="media-name">boleto-7781.pdf</strong>"#));
    // The address is shown as text; no element of the page loads it.
    for attribute in ["src=", "href="] {
        assert!(
            !detail.contains(&format!("{attribute}\"{PDF_URL}")),
            "{attribute} loads the webhook's address"
        );
    }
    let sandbox = page("/mensagens/sandbox".into()).await;
    assert!(sandbox.contains(&format!(
        r#"src="/mensagens/{}/qrcode.png""#,
        messages[2].id
    )));
    assert!(sandbox.contains(r#"data-testid="media-document""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_the_editor_refuses_a_wrong_directive_and_saves_a_right_one() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store, _) = crate::events::create_store(&app, Platform::Api, "Loja Doce");
    let path = format!("/templates/{store}/boleto.generated");
    let csrf = app.csrf(&admin, &path).await;
    let save = |parts: [&str; 2]| {
        let form = vec![
            ("_csrf", csrf.clone()),
            ("enabled", "1".into()),
            ("delay.0", "0".into()),
            ("part.0.0", parts[0].into()),
            ("part.0.1", parts[1].into()),
            ("action", "save".into()),
        ];
        admin.post(app.at(&path)).form(&form).send()
    };
    let refused = save(["Seu boleto", "#documento boleto.pdf\nSeu boleto"])
        .await
        .expect("answers");
    assert_eq!(refused.status(), 422);
    let html = unescaped(&refused.text().await.expect("html"));
    assert!(
        html.contains(
            "Passo 1, mensagem 2, linha 1: o arquivo precisa de um endereço https:// ou de uma \
             variável entre {{ }}, não <code>boleto.pdf</code>"
        ),
        "{html}"
    );
    let saved = save([
        "Seu boleto",
        "#documento {{ payment.boleto_pdf_url }}\nSeu boleto em PDF",
    ])
    .await
    .expect("answers");
    assert_eq!(
        saved.status(),
        303,
        "{}",
        saved.text().await.unwrap_or_default()
    );
    let template = app
        .db
        .template(StoreId(store), EventKind::BoletoGenerated)
        .expect("read")
        .expect("saved");
    assert_eq!(
        template.steps[0].parts[1],
        "#documento {{ payment.boleto_pdf_url }}\nSeu boleto em PDF"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_insert_buttons_add_a_directive_part_and_the_preview_shows_it() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let (store, _) = crate::events::create_store(&app, Platform::Api, "Loja Doce");
    let path = format!("/templates/{store}/pix.generated");
    let csrf = app.csrf(&admin, &path).await;
    let form = vec![
        ("_csrf", csrf),
        ("delay.0", "0".to_owned()),
        (
            "part.0.0",
            "{{ saudacao }}! Seu PIX está pronto.".to_owned(),
        ),
        ("action", "add_media.0.qrcode".to_owned()),
    ];
    let html = admin
        .post(app.at(&format!("{path}/previa")))
        .form(&form)
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .map(|html| unescaped(&html))
        .expect("html");
    assert!(html.contains(">#qrcode {{ payment.pix_code }}\n"), "{html}");
    // The preview draws the api sample's PIX code as a data: PNG, never a URL.
    assert!(html.contains(r#"data-testid="media-qr""#), "{html}");
    assert!(html.contains(r#"src="data:image/png;base64,"#));
}
