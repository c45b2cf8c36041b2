//! `TestApp`: a real avisa on loopback with a fresh data directory, ready when /readyz answers.

use std::net::TcpListener;
use std::sync::Arc;

use avisa::app::{self, ServeConfig};
use avisa::channels::whatsapp::WhatsappConfig;
use avisa::domain::SystemClock;

pub const ADMIN_EMAIL: &str = "dona@loja.com.br";
pub const ADMIN_PASSWORD: &str = "senha-bem-longa-123";

pub struct TestApp {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    /// The running server's storage, for arranging data the UI would take many steps to make.
    pub db: avisa::db::Db,
    /// The running server's channel registry, for registering fake channels and pairing.
    pub channels: Arc<avisa::channels::Channels>,
    /// The running server's password hashing, for holding logins mid-way.
    pub hashing: Arc<avisa::http::slots::Slots>,
    /// The running server's template rendering, for holding previews mid-way.
    pub rendering: Arc<avisa::http::slots::Slots>,
    handle: avisa::http::ServerHandle,
}

/// Where WhatsApp clients of a test app dial unless a test says otherwise: a loopback port
/// nothing listens on (the discard port), with the version pinned, so no test reaches the internet.
pub fn offline_whatsapp() -> WhatsappConfig {
    WhatsappConfig {
        url: "ws://127.0.0.1:9/ws/chat".into(),
        version: Some(avisa::channels::whatsapp::BUNDLED_VERSION),
        http: None,
    }
}

impl TestApp {
    /// Starts avisa and waits for /readyz.
    pub async fn start() -> TestApp {
        TestApp::start_with(offline_whatsapp()).await
    }

    /// Starts avisa with its WhatsApp clients pointed at `whatsapp`.
    pub async fn start_with(whatsapp: WhatsappConfig) -> TestApp {
        TestApp::start_configured(|config| config.whatsapp = whatsapp).await
    }

    /// Starts avisa as a merchant would without `--public-url`: webhook URLs start with the
    /// listener's loopback address until Configurações says otherwise.
    pub async fn start_without_public_url() -> TestApp {
        TestApp::start_configured(|config| config.public_url = None).await
    }

    /// Starts avisa with the test's changes to the configuration.
    pub async fn start_configured(change: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        TestApp::boot(data_dir, change).await
    }

    /// Starts avisa with its data directory at `data_dir/data` (a test may mount something there).
    pub async fn start_in(data_dir: tempfile::TempDir, whatsapp: WhatsappConfig) -> TestApp {
        TestApp::boot(data_dir, |config| config.whatsapp = whatsapp).await
    }

    /// Starts avisa with its slow-client limits set (a short body deadline, a small per-peer cap).
    pub async fn start_limited(
        data_dir: tempfile::TempDir,
        whatsapp: WhatsappConfig,
        limits: avisa::http::Limits,
    ) -> TestApp {
        TestApp::boot(data_dir, |config| {
            config.whatsapp = whatsapp;
            config.limits = limits;
        })
        .await
    }

    /// Starts avisa on a clock the test steps (`ManualClock::advance`) instead of the machine's.
    pub async fn start_on(clock: Arc<dyn avisa::domain::Clock>) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        TestApp::boot_on(data_dir, |_| {}, clock).await
    }

    async fn boot(data_dir: tempfile::TempDir, change: impl FnOnce(&mut ServeConfig)) -> TestApp {
        TestApp::boot_on(data_dir, change, Arc::new(SystemClock)).await
    }

    async fn boot_on(
        data_dir: tempfile::TempDir,
        change: impl FnOnce(&mut ServeConfig),
        clock: Arc<dyn avisa::domain::Clock>,
    ) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let mut config = ServeConfig {
            limits: Default::default(),
            data_dir: data_dir.path().join("data"),
            public_url: Some(url.clone()),
            cache_bytes: 4 * 1024 * 1024,
            trusted_proxies: Default::default(),
            whatsapp: offline_whatsapp(),
            platform_api_stand_in: None,
        };
        change(&mut config);
        let running = app::start(&config, listener, clock).expect("avisa starts");
        let handle = running.server.handle();
        let db = running.db.clone();
        let channels = running.channels.clone();
        let hashing = running.hashing.clone();
        let rendering = running.rendering.clone();
        tokio::spawn(running.server);
        let app = TestApp {
            url,
            data_dir,
            db,
            channels,
            hashing,
            rendering,
            handle,
        };
        // The listener is bound before start: the first request waits in its backlog, no retry loop.
        let ready = app
            .client()
            .get(app.at("/readyz"))
            .send()
            .await
            .expect("readyz answers");
        assert_eq!(ready.status(), 200, "avisa is ready");
        app
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The page at `path` as `client` sees it: its body, whatever the status.
    pub async fn html(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.at(path))
            .send()
            .await
            .expect("the page answers")
            .text()
            .await
            .expect("the page's body")
    }

    pub fn data_path(&self) -> std::path::PathBuf {
        self.data_dir.path().join("data")
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client")
    }

    /// The CSRF token the page at `path` puts in its forms (the client keeps the cookie).
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        let html = self.html(client, path).await;
        let marker = "name=\"_csrf\" value=\"";
        let start = html
            .find(marker)
            .unwrap_or_else(|| panic!("{path} has a CSRF field: {}", &html[..html.len().min(600)]))
            + marker.len();
        html[start..start + 64].to_owned()
    }

    /// Creates the first admin through the setup page and returns the logged-in client.
    pub async fn setup_admin(&self) -> reqwest::Client {
        let client = self.client();
        let csrf = self.csrf(&client, "/setup").await;
        let response = client
            .post(self.at("/setup"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("name", "Dona Maria"),
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("password_confirm", ADMIN_PASSWORD),
            ])
            .send()
            .await
            .expect("setup answers");
        assert_eq!(response.status(), 303, "setup redirects home");
        client
    }

    /// An admin API token created through the users page, as the page shows it once.
    pub async fn api_token(&self, admin: &reqwest::Client) -> String {
        let csrf = self.csrf(admin, "/usuarios").await;
        let html = admin
            .post(self.at("/usuarios/tokens"))
            .form(&[("_csrf", csrf.as_str()), ("name", "ERP")])
            .send()
            .await
            .expect("create token")
            .text()
            .await
            .expect("page");
        crate::auth::one_time_password_in(&html)
    }

    /// A logged-in attendant, made directly in storage (the users page has its own tests).
    pub async fn attendant(&self, email: &str) -> reqwest::Client {
        self.db
            .create_user(avisa::db::NewUser {
                email: email.into(),
                name: "Atendente".into(),
                role: avisa::db::Role::Attendant,
                password_hash: avisa::http::password::hash_password(ADMIN_PASSWORD),
                lang: "pt-BR".into(),
                must_change_password: false,
                created_at: 0,
            })
            .expect("attendant created");
        let (client, response) = self.login(email, ADMIN_PASSWORD).await;
        assert_eq!(response.status(), 303, "the attendant logs in");
        client
    }

    /// Logs in with e-mail and password on a fresh client.
    pub async fn login(&self, email: &str, password: &str) -> (reqwest::Client, reqwest::Response) {
        let client = self.client();
        let csrf = self.csrf(&client, "/login").await;
        let response = client
            .post(self.at("/login"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("login answers");
        (client, response)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the runtime ends with the test and closes the data file.
        drop(self.handle.stop(false));
    }
}
