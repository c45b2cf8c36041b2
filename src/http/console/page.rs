//! The console's page builder: every HTML page goes through `Page`, which adds the layout
//! context (user, language, CSRF token, flash, active menu entry) and answers `text/html`.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use minijinja::{Value, context};

use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::csrf::CsrfToken;
use crate::http::error::ApiError;
use crate::http::ui::{LANGUAGES, supported_lang};

/// The cookie that remembers an anonymous visitor's language choice.
const LANG_COOKIE: &str = "avisa_lang";

/// Flash messages a redirect may ask for (`?ok=key`); anything else is ignored.
const FLASHES: &[&str] = &[
    "saved",
    "custom_kind_created",
    "mapping_saved",
    "mapping_removed",
    "reprocessed_none",
    "reprocessed_one",
    "reprocessed_many",
    "password_changed",
    "user_created",
    "user_updated",
    "token_revoked",
    "store_created",
    "store_deleted",
    "token_regenerated",
    "api_token_saved",
    "api_token_saved_held",
    "api_token_removed",
    "api_token_unchanged",
    "unmapped_acknowledged",
    "template_reset",
    "message_canceled",
    "message_rescheduled",
    "message_send_now",
    "message_send_now_waiting",
    "message_send_now_test",
    "message_send_now_test_instance",
    "reply_sent",
    "reply_sent_test",
    "marked_paid_none",
    "marked_paid_one",
    "marked_paid_many",
    "opt_out_added_none",
    "opt_out_added_one",
    "opt_out_added_many",
    "opt_out_removed",
    "test_mode_on",
    "test_mode_off",
    "instance_created",
    "instance_deleted",
    "store_linked",
    "store_unlinked",
    "password_changed_login",
    "buyer_forgotten_none",
    "buyer_forgotten_one",
    "buyer_forgotten_many",
];

/// One console page being built: `Page::new(&state, &req, &viewer, "stores.html")
/// .menu("stores").status(StatusCode::UNPROCESSABLE_ENTITY).render(context! {..})`. The layout
/// context (user, language, CSRF token, flash, menu, company name) is added here.
pub struct Page<'a> {
    state: &'a AppState,
    req: &'a HttpRequest,
    viewer: Option<&'a Viewer>,
    template: &'a str,
    menu: &'a str,
    status: StatusCode,
}

impl<'a> Page<'a> {
    /// A page for a logged-in user (a `Viewer` or an `AdminViewer`).
    pub fn new(
        state: &'a AppState,
        req: &'a HttpRequest,
        viewer: &'a impl AsRef<Viewer>,
        template: &'a str,
    ) -> Page<'a> {
        Page::build(state, req, Some(viewer.as_ref()), template)
    }

    /// A page for someone not logged in (login, setup, the 404 of an unknown path).
    pub fn anonymous(state: &'a AppState, req: &'a HttpRequest, template: &'a str) -> Page<'a> {
        Page::build(state, req, None, template)
    }

    /// A page for whoever is calling, logged in or not.
    pub fn for_viewer(
        state: &'a AppState,
        req: &'a HttpRequest,
        viewer: Option<&'a Viewer>,
        template: &'a str,
    ) -> Page<'a> {
        Page::build(state, req, viewer, template)
    }

    fn build(
        state: &'a AppState,
        req: &'a HttpRequest,
        viewer: Option<&'a Viewer>,
        template: &'a str,
    ) -> Page<'a> {
        Page {
            state,
            req,
            viewer,
            template,
            menu: "",
            status: StatusCode::OK,
        }
    }

    /// The menu entry shown as current (`stores`, `instances`, …).
    pub fn menu(mut self, menu: &'a str) -> Page<'a> {
        self.menu = menu;
        self
    }

    /// The status to answer with (200 unless a form is refused or a record is missing).
    pub fn status(mut self, status: StatusCode) -> Page<'a> {
        self.status = status;
        self
    }

    /// Renders the template with the layout context and `extra`.
    pub async fn render(self, extra: Value) -> Result<HttpResponse, ApiError> {
        let Page {
            state,
            req,
            viewer,
            template,
            menu: active,
            status,
        } = self;
        let logged_in = viewer.is_some();
        let (settings, unmapped_count, custom_kinds) = state
            .run(move |db| {
                // The Eventos badge: only people who can open the page see it.
                let (unmapped, custom_kinds) = if logged_in {
                    (db.unacknowledged_unmapped()?, db.list_custom_kinds()?)
                } else {
                    (0, Vec::new())
                };
                Ok((db.console_settings()?, unmapped, custom_kinds))
            })
            .await?;
        // Labels of the merchant's own kinds, for `t("kind.custom.<name>")` (`http::ui`).
        let custom_kinds: std::collections::BTreeMap<String, String> = custom_kinds
            .into_iter()
            .map(|d| (d.name, d.label))
            .collect();
        let lang = match viewer {
            Some(v) => supported_lang(&v.user.lang),
            None => req
                .cookie(LANG_COOKIE)
                .map(|c| supported_lang(c.value()))
                .unwrap_or_else(|| supported_lang(&settings.default_lang)),
        };
        let csrf = req
            .extensions()
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let query =
            web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
                .ok();
        // A count the flash may carry (`&n=3`: "3 lembretes cancelados"); only digits pass.
        let count = query
            .as_ref()
            .and_then(|q| q.get("n"))
            .and_then(|n| n.parse::<u64>().ok());
        let flash = query
            .as_ref()
            .and_then(|q| q.get("ok").cloned())
            .filter(|k| FLASHES.contains(&k.as_str()))
            .map(|k| state.ui.text(lang, &format!("flash.{k}")))
            .map(|text| match count {
                Some(n) => text.replace("{n}", &n.to_string()),
                None => text,
            });
        let user = viewer.map(|v| {
            context! {
                id => v.user.id,
                name => v.user.name.clone(),
                email => v.user.email.clone(),
                role => v.user.role.as_str(),
                is_admin => v.is_admin(),
                must_change_password => v.user.must_change_password,
            }
        });
        let ctx = context! {
            lang => lang,
            csrf => csrf,
            user => user,
            active => active,
            flash => flash,
            unmapped_count => unmapped_count,
            custom_kinds => custom_kinds,
            company_name => settings.company_name,
            languages => LANGUAGES.iter().map(|(code, name)| context! { code => *code, name => *name }).collect::<Vec<_>>(),
            version => env!("CARGO_PKG_VERSION"),
            // The "disco cheio" banner: webhooks are refused (503) until space is freed.
            disk_full => state.db.disk_full(),
            ..extra
        };
        let html = state
            .ui
            .render(template, ctx)
            .map_err(|e| ApiError::Internal(format!("template {template}: {e:#}")))?;
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(html))
    }
}
