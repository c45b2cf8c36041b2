//! The console in real headless Chromium, driven over WebDriver: first-run setup, every menu
//! entry, switching language, logout. Screenshots land in target/screenshots/.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

/// A chromedriver process on a free port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver and waits for the line that says it listens (no polling, no sleeps).
    pub(crate) fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let mut child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{binary} runs (install chromium-driver; .ci/run does): {e}")
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .expect("chromedriver says it started")
                .expect("readable line");
            if line.contains("started successfully") {
                break;
            }
        }
        // Keep draining its output so chromedriver never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("WebDriver session starts");
    // On a busy machine a click can return before the next page is parsed: let the driver
    // itself wait for elements (WebDriver implicit wait) rather than the test sleeping.
    client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            None,
            None,
            Some(std::time::Duration::from_secs(10)),
        ))
        .await
        .expect("implicit wait set");
    client
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots directory");
    dir
}

pub(crate) async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

pub(crate) async fn fill(client: &Client, id: &str, value: &str) {
    let field = client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("field #{id}"));
    field.send_keys(value).await.expect("type");
}

/// Clicks what `css` finds; `what` names it when it is missing.
pub(crate) async fn click(client: &Client, css: &str, what: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Logs the admin in through the login page and waits for home.
async fn log_in(c: &Client, app: &TestApp) {
    c.goto(&app.at("/login")).await.expect("open");
    fill(c, "email", ADMIN_EMAIL).await;
    fill(c, "password", ADMIN_PASSWORD).await;
    click(c, "button[type=submit]", "submit").await;
    arrive(c, "/").await;
}

/// A fresh browser with the admin logged in; keep the driver and profile alive with it.
pub(crate) async fn logged_in(app: &TestApp) -> (Driver, tempfile::TempDir, Client) {
    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("browser profile");
    let c = browser(&driver, profile.path()).await;
    log_in(&c, app).await;
    (driver, profile, c)
}

/// Opens an instance's page and presses Conectar; the page lands on its connection panel.
async fn press_connect(c: &Client, app: &TestApp, id: u64) {
    let page = format!("/instancias/{id}");
    c.goto(&app.at(&page)).await.expect("open");
    click(c, "[data-testid=connect]", "a Conectar button").await;
    arrive(c, &format!("{page}#conexao")).await;
}

/// Decodes the one QR code the page draws, from its pixels.
async fn decode_qr(c: &Client) -> String {
    let (w, h, px) = qr_pixels(c).await;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the canvas");
    grids[0].decode().expect("the QR decodes").1
}

pub(crate) async fn heading(client: &Client) -> String {
    // A click may return while the next page replaces the old one: a heading found on the old
    // page goes stale, and is looked up again (the implicit wait finds the new one).
    let mut last_error = None;
    for _ in 0..20 {
        let found = client
            .find(Locator::Css("main h1"))
            .await
            .expect("a page heading");
        match found.text().await {
            Ok(text) => return text,
            Err(e) => last_error = Some(e),
        }
    }
    panic!("the heading stays stale: {last_error:?}")
}

/// Waits until the browser shows `path` (a click can return before its navigation ends).
pub(crate) async fn arrive(client: &Client, path: &str) {
    let target = client
        .current_url()
        .await
        .expect("url")
        .join(path)
        .expect("a path");
    client
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_url(&target)
        .await
        .unwrap_or_else(|e| panic!("the browser reaches {path}: {e}"));
}

/// One Chromium at a time: the machine is small, and two browsers starve each other.
pub(crate) static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_sets_up_walks_the_menu_switches_language_and_logs_out() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("browser profile");
    let c = browser(&driver, profile.path()).await;

    // First run: the console opens on the setup page.
    c.goto(&app.at("/")).await.expect("open");
    assert!(
        c.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/setup")
    );
    shot(&c, "01-setup").await;
    fill(&c, "name", "Dona Maria").await;
    fill(&c, "email", ADMIN_EMAIL).await;
    fill(&c, "password", ADMIN_PASSWORD).await;
    fill(&c, "password_confirm", ADMIN_PASSWORD).await;
    click(&c, "button[type=submit]", "submit").await;
    arrive(&c, "/").await;
    assert!(
        heading(&c).await.starts_with("Olá"),
        "home greets the merchant"
    );
    shot(&c, "02-home").await;

    // Every menu entry opens its page, with its own heading.
    let entries = [
        ("stores", "Lojas"),
        ("instances", "Instâncias"),
        ("templates", "Templates"),
        ("events", "Eventos"),
        ("messages", "Mensagens"),
        ("reports", "Relatórios"),
        ("settings", "Configurações"),
        ("users", "Usuários"),
    ];
    for (key, title) in entries {
        let link = c
            .find(Locator::Css(&format!("nav a[data-nav={key}]")))
            .await
            .expect("menu entry");
        let href = link.attr("href").await.expect("attr").expect("href");
        link.click().await.expect("click");
        arrive(&c, &href).await;
        assert_eq!(heading(&c).await, title, "menu entry {key}");
        let current = c
            .find(Locator::Css("nav a[aria-current=page]"))
            .await
            .expect("active entry");
        assert_eq!(
            current.attr("data-nav").await.expect("attr").as_deref(),
            Some(key)
        );
        shot(&c, &format!("03-{key}")).await;
    }

    // Log out and back in: the login page works in the browser too.
    click(&c, "[data-testid=logout]", "logout").await;
    arrive(&c, "/login").await;
    assert!(
        c.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/login")
    );
    shot(&c, "04-login").await;
    fill(&c, "email", ADMIN_EMAIL).await;
    fill(&c, "password", ADMIN_PASSWORD).await;
    click(&c, "button[type=submit]", "submit").await;
    arrive(&c, "/").await;

    // Switch to English in Minha conta; the menu follows.
    c.goto(&app.at("/conta")).await.expect("account");
    click(&c, "[data-testid=lang-select] option[value=en]", "English").await;
    click(&c, "[data-testid=lang-save]", "save").await;
    arrive(&c, "/conta?ok=saved").await;
    assert_eq!(heading(&c).await, "My account");
    let stores = c
        .find(Locator::Css("nav a[data-nav=stores]"))
        .await
        .expect("menu")
        .text()
        .await
        .expect("text");
    assert!(stores.contains("Stores"), "menu in English: {stores}");
    shot(&c, "05-english").await;

    // A phone-sized window still reaches the menu through the toggle.
    c.set_window_size(390, 844).await.expect("resize");
    click(&c, "label.nav-button", "menu button").await;
    assert!(
        c.find(Locator::Css("nav a[data-nav=events]"))
            .await
            .expect("menu")
            .is_displayed()
            .await
            .expect("visible")
    );
    shot(&c, "06-phone-menu").await;
    c.set_window_size(1280, 900).await.expect("resize");

    click(&c, "[data-testid=logout]", "logout").await;
    arrive(&c, "/login").await;
    c.goto(&app.at("/usuarios")).await.expect("open");
    assert!(
        c.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/login"),
        "logged out"
    );
    c.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_opens_an_event_and_sees_the_raw_body_beside_the_reading() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (_, token) = crate::events::create_store(&app, avisa::domain::Platform::Api, "Minha Loja");
    let fixture = |path: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(path),
        )
        .expect("fixture")
    };
    // An unmapped event first (it raises the alert), then the one the merchant opens.
    let (_, hotmart) = crate::events::create_store(&app, avisa::domain::Platform::Hotmart, "Curso");
    let unmapped = fixture("hotmart/club-module-completed-test.json");
    let (status, _) = crate::events::post_webhook(&app, &hotmart, unmapped, &[]).await;
    assert_eq!(status, 202);
    let body = fixture("api/pix.generated.json");
    let (status, _) = crate::events::post_webhook(&app, &token, body, &[]).await;
    assert_eq!(status, 202);

    let (_driver, _profile, c) = logged_in(&app).await;
    click(&c, "nav a[data-nav=events]", "menu entry").await;
    arrive(&c, "/eventos").await;
    assert_eq!(heading(&c).await, "Eventos");
    assert!(
        c.find(Locator::Css("[data-testid=unmapped-badge]"))
            .await
            .expect("the unmapped badge")
            .is_displayed()
            .await
            .expect("visible")
    );
    shot(&c, "09-events").await;
    let link = c
        .find(Locator::Css("[data-testid=event-link]"))
        .await
        .expect("the event's link");
    let href = link.attr("href").await.expect("attr").expect("href");
    link.click().await.expect("click");
    arrive(&c, &href).await;
    for testid in ["raw-body", "normalised-event"] {
        let block = c
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await
            .unwrap_or_else(|_| panic!("{testid} block"));
        assert!(block.is_displayed().await.expect("visible"), "{testid}");
        let text = block.text().await.expect("text");
        assert!(
            text.contains("ana.souza@example.com") && text.contains("10442"),
            "{testid} shows the buyer and the order: {text}"
        );
    }
    shot(&c, "10-event-detail").await;
    c.set_window_size(390, 844).await.expect("resize");
    // Reload at phone width so the folding menu is not caught mid-animation.
    let here = c.current_url().await.expect("url");
    c.goto(here.as_str()).await.expect("reload");
    assert!(
        c.find(Locator::Css("[data-testid=normalised-event]"))
            .await
            .expect("block")
            .is_displayed()
            .await
            .expect("visible")
    );
    shot(&c, "11-event-detail-phone").await;
    c.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_fixes_a_template_error_and_previews_the_message() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (store_id, _) =
        crate::events::create_store(&app, avisa::domain::Platform::Api, "Minha Loja");

    let (_driver, _profile, c) = logged_in(&app).await;
    click(&c, "nav a[data-nav=templates]", "menu entry").await;
    arrive(&c, "/templates").await;
    assert_eq!(heading(&c).await, "Templates");
    c.find(Locator::Css("[data-testid=\"edit-pix.generated\"]"))
        .await
        .expect("the PIX gerado row")
        .click()
        .await
        .expect("click");
    let editor = format!("/templates/{store_id}/pix.generated");
    arrive(&c, &editor).await;
    assert!(heading(&c).await.starts_with("PIX gerado"));

    // An unknown variable: saving answers with the step, part and line.
    let first = c
        .find(Locator::Css("[data-testid=part-0-0]"))
        .await
        .expect("the first message");
    first.clear().await.expect("clear");
    first
        .send_keys("Oi {{ cliente.nome }}")
        .await
        .expect("type");
    click(&c, "[data-testid=save]", "save").await;
    let errors = c
        .find(Locator::Css("[data-testid=template-errors]"))
        .await
        .expect("the errors")
        .text()
        .await
        .expect("text");
    assert!(
        errors.contains("Passo 1, mensagem 1, linha 1: variável desconhecida cliente.nome"),
        "{errors}"
    );

    // Fixed, then previewed: the bubble shows the text with the sample's buyer.
    let first = c
        .find(Locator::Css("[data-testid=part-0-0]"))
        .await
        .expect("the first message");
    first.clear().await.expect("clear");
    first
        .send_keys("Oi {{ customer.first_name }}, seu PIX está pronto.")
        .await
        .expect("type");
    click(&c, "[data-testid=preview]", "preview").await;
    arrive(&c, &format!("{editor}/previa")).await;
    let bubble = c
        .find(Locator::Css("[data-testid=bubble]"))
        .await
        .expect("a bubble")
        .text()
        .await
        .expect("text");
    assert_eq!(bubble, "Oi Ana, seu PIX está pronto.");
    shot(&c, "12-template-editor").await;
    c.close().await.expect("close browser");
}

/// Draws the page's QR SVG onto a canvas in the browser and hands back its grey pixels: what a
/// phone camera would see, not the markup.
async fn qr_pixels(c: &Client) -> (usize, usize, Vec<u8>) {
    let script = r##"
        const done = arguments[arguments.length - 1];
        const svg = document.querySelector("[data-testid=qr] svg");
        if (!svg) { done(null); return; }
        const size = 400;
        const img = new Image();
        img.onload = () => {
            const canvas = document.createElement("canvas");
            canvas.width = size; canvas.height = size;
            const ctx = canvas.getContext("2d");
            ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, size, size);
            ctx.drawImage(img, 0, 0, size, size);
            const rgba = ctx.getImageData(0, 0, size, size).data;
            const grey = [];
            for (let i = 0; i < rgba.length; i += 4) grey.push(rgba[i]);
            done({ w: size, h: size, px: grey });
        };
        img.onerror = () => done(null);
        const xml = new XMLSerializer().serializeToString(svg);
        img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(xml);
    "##;
    let value = c
        .execute_async(script, vec![])
        .await
        .expect("the script runs");
    let w = value["w"].as_u64().expect("a drawn QR") as usize;
    let h = value["h"].as_u64().expect("height") as usize;
    let px = value["px"]
        .as_array()
        .expect("pixels")
        .iter()
        .map(|v| v.as_u64().expect("grey value") as u8)
        .collect();
    (w, h, px)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_connects_a_whatsapp_instance_and_the_page_shows_a_qr_that_decodes_to_the_payload()
{
    use avisa::queue::channel::ChannelState;
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    let (id, fake, pairing) = crate::pairing::paired_fake(&app);
    let (_driver, _profile, c) = logged_in(&app).await;

    press_connect(&c, &app, id).await;
    assert_eq!(
        pairing.calls(),
        [avisa::channels::fake::PairingCall::Connect]
    );

    // What a real client emits: ref, noise key, identity key, adv secret.
    let payload = "2@Xk3ZqP0aH9vY2rT7mLw4sN8dC1fB6gJ5,Lw0u3Yb2xV7cN1mQ9rT4eS6dF8gH0jK2lZ5aP3oI7U=,7t9hH0pQkXf2Z4cVbN6mL8sD1aR3eW5yU7iO9pA2sD=,vB3nM5kJ7hG9fD1sA2qW4eR6tY8uI0oPzXcVbNmLkJ=";
    let now = avisa::domain::Clock::now(&avisa::domain::SystemClock);
    fake.set_state(ChannelState::WaitingForQr {
        qr: payload.into(),
        expires_at: now + 60,
    });
    // The implicit wait finds the SVG once the stream delivered it.
    c.find(Locator::Css("[data-testid=qr] svg"))
        .await
        .expect("the QR arrives over the stream");
    let countdown = c
        .find(Locator::Css("[data-testid=pairing-qr] [data-countdown]"))
        .await
        .expect("countdown")
        .text()
        .await
        .expect("text");
    assert!(countdown.starts_with("Expira em "), "{countdown:?}");
    shot(&c, "pairing").await;

    let decoded = decode_qr(&c).await;
    assert_eq!(decoded, payload);

    // The codes ran out: the page offers a new QR; then the phone pairs.
    fake.set_state(ChannelState::PairingExpired);
    let expired = c
        .find(Locator::Css("[data-testid=pairing-expired]:not([hidden])"))
        .await
        .expect("the expired note shows");
    assert!(expired.text().await.expect("text").contains("QR expirou"));
    let button = c
        .find(Locator::Css("[data-testid=connect]"))
        .await
        .expect("button");
    assert_eq!(button.text().await.expect("text"), "Gerar novo QR");
    fake.set_state(ChannelState::Connected {
        number: "+5511912345678".into(),
        name: "Loja da Maria".into(),
    });
    let paired = c
        .find(Locator::Css("[data-testid=paired-number]:not([hidden])"))
        .await
        .expect("number and name show");
    let text = paired.text().await.expect("text");
    assert!(
        text.contains("+5511912345678") && text.contains("Loja da Maria"),
        "{text}"
    );
    shot(&c, "pairing-connected").await;
    c.close().await.expect("browser closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_reads_the_reports_after_sandbox_sends() {
    let _turn = ONE_BROWSER.lock().await;
    let app = TestApp::start().await;
    app.setup_admin().await;
    crate::reports::arrange_sends(&app).await;
    let (_driver, _profile, c) = logged_in(&app).await;
    click(&c, "nav a[data-nav=reports]", "menu entry").await;
    arrive(&c, "/relatorios").await;
    assert_eq!(heading(&c).await, "Relatórios");
    click(&c, "[data-testid=include-tests]", "the test messages box").await;
    click(
        &c,
        "[data-testid=report-filters] button[type=submit]",
        "apply",
    )
    .await;
    arrive(
        &c,
        "/relatorios?periodo=7d&de=&ate=&loja=&instancia=&tipo=&testes=1",
    )
    .await;
    for chart in ["chart-sends", "chart-events"] {
        let svg = c
            .find(Locator::Css(&format!("[data-testid={chart}]")))
            .await
            .unwrap_or_else(|_| panic!("{chart}"));
        assert!(svg.is_displayed().await.expect("visible"), "{chart}");
    }
    let recovered = c
        .find(Locator::Css(
            "[data-testid=recovered] [data-figure=recovered]",
        ))
        .await
        .expect("recovered orders")
        .text()
        .await
        .expect("text");
    assert_eq!(recovered, "1");
    // The charts are what the screenshot is for.
    c.execute(
        "document.querySelector('[data-testid=chart-sends]').scrollIntoView()",
        vec![],
    )
    .await
    .expect("scroll to the charts");
    shot(&c, "reports").await;
    c.close().await.expect("close browser");
}

/// The whole pairing path with no fake in it: the real library client dials the loopback
/// stand-in for WhatsApp's servers (`wa_server`), completes the Noise handshake, gets a
/// pair-device request and emits its QR; avisa pushes it to the page, and the code the browser
/// draws decodes to the payload the library made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_scans_a_qr_that_the_real_whatsapp_client_made() {
    use avisa::channels::whatsapp::{BUNDLED_VERSION, WhatsappConfig};
    use avisa::domain::{Instance, InstanceMode};
    use avisa::queue::channel::ChannelState;
    let _turn = ONE_BROWSER.lock().await;
    let server = crate::wa_server::start().await;
    let app = TestApp::start_with(WhatsappConfig {
        url: server.url.clone(),
        version: Some(BUNDLED_VERSION),
        http: None,
    })
    .await;
    app.setup_admin().await;
    let instance = app
        .db
        .create_instance(Instance::new("Loja da Maria", InstanceMode::Whatsapp, 0))
        .expect("instance");
    app.channels.ensure(&instance);
    let (_driver, _profile, c) = logged_in(&app).await;

    press_connect(&c, &app, instance.id.0).await;
    // The implicit wait finds the SVG once the library's first QR went through the stream.
    c.find(Locator::Css("[data-testid=qr] svg"))
        .await
        .expect("the library's QR arrives over the stream");
    let ChannelState::WaitingForQr { qr: payload, .. } = app.channels.state(instance.id) else {
        panic!(
            "the channel waits for a scan: {:?}",
            app.channels.state(instance.id)
        );
    };
    assert!(
        payload.starts_with(&format!("{},", crate::wa_server::REFS[0])),
        "the payload carries the server's first ref: {payload}"
    );
    shot(&c, "pairing-real-client").await;

    let decoded = decode_qr(&c).await;
    assert_eq!(decoded, payload, "the phone reads what the library made");
    c.close().await.expect("browser closes");
    app.channels.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conectar_without_reaching_whatsapp_shows_why_offers_a_retry_and_the_dashboard_says_it() {
    let _turn = ONE_BROWSER.lock().await;
    // The real WhatsApp client, dialing a loopback port where nothing listens.
    let app = TestApp::start().await;
    app.setup_admin().await;
    let instance = app
        .db
        .create_instance(avisa::domain::Instance::new(
            "Número da loja",
            avisa::domain::InstanceMode::Whatsapp,
            0,
        ))
        .expect("instance");
    app.channels.ensure(&instance);
    let (_driver, _profile, c) = logged_in(&app).await;

    press_connect(&c, &app, instance.id.0).await;
    let failed = c
        .find(Locator::Css("[data-testid=pairing-failed]:not([hidden])"))
        .await
        .expect("the failure shows, with no spinner left running")
        .text()
        .await
        .expect("text");
    assert!(
        failed.contains("Não consegui falar com o WhatsApp: a conexão foi recusada"),
        "{failed}"
    );
    let badge = c
        .find(Locator::Css("[data-testid=instance-state]"))
        .await
        .expect("badge")
        .text()
        .await
        .expect("text");
    assert_eq!(badge, "sem conexão com o WhatsApp");
    let retry = c
        .find(Locator::Css("[data-testid=connect]"))
        .await
        .expect("a retry button")
        .text()
        .await
        .expect("text");
    assert_eq!(retry, "Tentar de novo");
    shot(&c, "pairing-unreachable").await;

    c.goto(&app.at("/")).await.expect("open");
    let alert = c
        .find(Locator::Css("[data-alert=unreachable]"))
        .await
        .expect("the dashboard alerts")
        .text()
        .await
        .expect("text");
    assert_eq!(
        alert,
        "Não consegui falar com o WhatsApp — Número da loja: a conexão foi recusada (firewall, proxy ou endereço do WhatsApp errado)."
    );
    shot(&c, "dashboard-unreachable").await;
    c.close().await.expect("browser closes");
}
