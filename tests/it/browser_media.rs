//! Media parts in real headless Chromium (issue 16): the template preview and the caixa de teste
//! show the boleto as a PDF card and the PIX as a QR image avisa drew — the image is read back
//! from the page's pixels and decodes to the exact copia-e-cola. Screenshots land in
//! target/screenshots/ (`16-media-…`).

use fantoccini::{Client, Locator};

use crate::browser::{ONE_BROWSER, arrive, click, logged_in, shot};
use crate::media::{PIX, arrange};
use crate::support::TestApp;

/// The text of the first element matching `css`.
async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} is on the page"))
        .text()
        .await
        .expect("text")
}

/// Draws the page's QR `<img>` (matched by `css`) on a canvas and decodes its pixels: the image
/// loaded, and it is the code.
async fn decode_page_qr(c: &Client, css: &str) -> String {
    let script = r##"
        const [css, done] = [arguments[0], arguments[arguments.length - 1]];
        const img = document.querySelector(css);
        if (!img) { done(null); return; }
        const draw = () => {
            if (!img.naturalWidth) { done(null); return; }
            const size = 400;
            const canvas = document.createElement("canvas");
            canvas.width = size; canvas.height = size;
            const ctx = canvas.getContext("2d");
            ctx.imageSmoothingEnabled = false;
            ctx.drawImage(img, 0, 0, size, size);
            const rgba = ctx.getImageData(0, 0, size, size).data;
            const grey = [];
            for (let i = 0; i < rgba.length; i += 4) grey.push(rgba[i]);
            done({ w: size, px: grey });
        };
        if (img.complete) draw(); else { img.onload = draw; img.onerror = () => done(null); }
    "##;
    let value = c
        .execute_async(script, vec![serde_json::json!(css)])
        .await
        .expect("the script runs");
    let w = value["w"]
        .as_u64()
        .unwrap_or_else(|| panic!("{css} shows a loaded image")) as usize;
    let px: Vec<u8> = value["px"]
        .as_array()
        .expect("pixels")
        .iter()
        .map(|v| v.as_u64().expect("a byte") as u8)
        .collect();
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, w, |x, y| px[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in {css}");
    grids[0].decode().expect("the QR decodes").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_preview_and_caixa_de_teste_show_a_pdf_card_and_a_qr_image() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (store, _) = arrange(&app).await;
    let (_driver, _profile, c) = logged_in(&app).await;

    // The editor previews the store's own boleto event: the PDF card and the QR drawn here.
    let path = format!("/templates/{store}/boleto.generated");
    c.goto(&app.at(&path)).await.expect("open");
    arrive(&c, &path).await;
    let panel = "[data-testid=preview-panel]";
    assert_eq!(
        text_of(
            &c,
            &format!("{panel} [data-testid=media-document] [data-testid=media-name]")
        )
        .await,
        "boleto-7781.pdf"
    );
    let about = text_of(
        &c,
        &format!("{panel} [data-testid=media-document] [data-testid=media-format]"),
    )
    .await;
    assert_eq!(about, "Documento · PDF · 10.20.30.40");
    assert_eq!(
        decode_page_qr(&c, &format!("{panel} img[data-testid=media-qr]")).await,
        PIX
    );
    let buttons = c
        .find_all(Locator::Css("[data-testid^=add-media-0-]"))
        .await
        .expect("buttons");
    assert!(
        buttons.is_empty(),
        "three parts: the insert buttons step aside"
    );
    c.execute(
        "document.querySelector('#previa img[data-testid=media-qr]').closest('.bubble').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .expect("scroll to the preview");
    shot(&c, "16-media-preview").await;

    // The caixa de teste: the same three bubbles as the buyer gets them.
    c.goto(&app.at("/mensagens/sandbox")).await.expect("open");
    arrive(&c, "/mensagens/sandbox").await;
    assert_eq!(
        text_of(
            &c,
            "[data-testid=sandbox] [data-testid=media-document] [data-testid=media-name]"
        )
        .await,
        "boleto-7781.pdf"
    );
    assert_eq!(
        decode_page_qr(&c, "[data-testid=sandbox] img[data-testid=media-qr]").await,
        PIX
    );
    c.execute(
        "document.querySelector('[data-testid=sandbox] img[data-testid=media-qr]').closest('.bubble').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .expect("scroll to the QR");
    let bubbles = text_of(&c, "[data-testid=sandbox]").await;
    assert!(bubbles.contains("Seu boleto em PDF, Ana."), "{bubbles}");
    assert!(
        !bubbles.contains("#documento"),
        "the directive is not shown as text"
    );
    shot(&c, "16-media-sandbox").await;

    // The PIX template's first step has two parts: "+ QR PIX" adds the third, and the preview
    // (the api platform's PIX example) draws it.
    let path = format!("/templates/{store}/pix.generated");
    c.goto(&app.at(&path)).await.expect("open");
    arrive(&c, &path).await;
    click(&c, "[data-testid=add-media-0-qrcode]", "the insert button").await;
    arrive(&c, &format!("{path}/previa")).await;
    let part = c
        .find(Locator::Css("[data-testid=part-0-2]"))
        .await
        .expect("a third part")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(
        part.starts_with("#qrcode {{ payment.pix_code }}\n"),
        "{part}"
    );
    assert_eq!(
        decode_page_qr(&c, &format!("{panel} img[data-testid=media-qr]")).await,
        API_PIX_EXAMPLE
    );
    c.execute(
        "document.querySelector('[data-testid=part-0-2]').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .expect("scroll to the new part");
    shot(&c, "16-media-insert-qr").await;
}

/// The PIX code of `tests/fixtures/api/pix.generated.json`.
const API_PIX_EXAMPLE: &str = "00020101021226900014br.gov.bcb.pix2568pix.example.com/qr/v2/FAKE5204000053039865802BR5913MINHA LOJA6009SAO PAULO62070503***6304ABCD";
