//! Console pages: each handler gathers its data, then renders one template with the shared
//! layout context (user, language, CSRF token, active menu entry).

mod account;
mod admin;
mod buyer_history;
mod console;
mod events;
mod instance_events;
mod instance_pairing;
mod instance_replies;
mod instance_rules;
mod instances;
mod instances_api;
mod maintenance;
mod message_actions;
mod message_settings;
mod messages;
mod messages_api;
mod report_charts;
mod reports;
mod sandbox;
mod session;
mod stores;
mod stores_api;
mod template_form;
mod template_preview;
mod templates;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use minijinja::{Value, context};

pub use account::{account, change_password, set_language};
pub use admin::{
    api_list_users, create_api_token, create_user, disable_user, enable_user, reset_user_password,
    revoke_api_token, save_settings, settings, users,
};
pub use buyer_history::buyer_history;
pub use console::{api_me, dashboard, not_found};
pub use events::{acknowledge_unmapped, api_event, api_list_events, event_detail, events};
pub use instance_events::instance_events;
pub use instance_pairing::{connect_instance, disconnect_instance, pair_instance_with_code};
pub use instance_replies::save_auto_reply;
pub use instances::{
    create_instance, delete_instance, link_instance_store, list_instances, new_instance_form,
    show_instance, unlink_instance_store, update_instance,
};
pub use instances_api::{
    api_create_instance, api_delete_instance, api_get_instance, api_link_store, api_list_instances,
    api_update_instance,
};
pub use maintenance::{api_backup, download_backup, export_buyer, forget_buyer, save_ops_settings};
pub use message_actions::{cancel_message, mark_order_paid, reschedule_message, send_message_now};
pub use message_settings::{
    add_opt_out, message_settings, opt_outs, remove_opt_out, save_message_settings,
};
pub use messages::{message_detail, messages};
pub use messages_api::{
    api_cancel_message, api_list_messages, api_mark_order_paid, api_message, api_reschedule_message,
};
pub use reports::{export_report_messages, export_report_table, reports};
pub use sandbox::{sandbox, set_store_test_mode};
pub use session::{create_first_admin, login, login_form, logout, setup_form};
pub use stores::{
    create_store, delete_store, list_stores, new_store_form, regenerate_store_token, show_store,
    update_store,
};
pub use stores_api::{
    api_create_store, api_delete_store, api_get_store, api_list_stores, api_regenerate_store_token,
    api_update_store,
};
pub use templates::{
    api_preview_template, edit_template, list_templates, preview_template, reset_template,
    save_template,
};

use super::AppState;
use super::auth::Viewer;
use super::csrf::CsrfToken;
use super::error::{ApiError, blocking};
use super::ui::{LANGUAGES, supported_lang};

/// The cookie that remembers an anonymous visitor's language choice.
const LANG_COOKIE: &str = "avisa_lang";

/// Flash messages a redirect may ask for (`?ok=key`); anything else is ignored.
const FLASHES: &[&str] = &[
    "saved",
    "password_changed",
    "user_created",
    "user_updated",
    "token_revoked",
    "store_created",
    "store_deleted",
    "token_regenerated",
    "unmapped_acknowledged",
    "template_reset",
    "message_canceled",
    "message_rescheduled",
    "message_send_now",
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
];

/// Renders `template` with the layout context and `extra`.
pub(super) async fn render(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: Option<&Viewer>,
    template: &str,
    active: &str,
    extra: Value,
) -> Result<HttpResponse, ApiError> {
    render_status(
        state,
        req,
        viewer,
        template,
        active,
        extra,
        actix_web::http::StatusCode::OK,
    )
    .await
}

pub(super) async fn render_status(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: Option<&Viewer>,
    template: &str,
    active: &str,
    extra: Value,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let logged_in = viewer.is_some();
    let (settings, unmapped_count) = blocking(move || {
        // The Eventos badge: only people who can open the page see it.
        let unmapped = if logged_in {
            db.unacknowledged_unmapped()?
        } else {
            0
        };
        Ok((db.console_settings()?, unmapped))
    })
    .await?;
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
        company_name => settings.company_name,
        languages => LANGUAGES.iter().map(|(code, name)| context! { code => *code, name => *name }).collect::<Vec<_>>(),
        version => env!("CARGO_PKG_VERSION"),
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

/// A same-site path to return to after login; anything else goes home.
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn login_only_returns_to_local_paths() {
        assert_eq!(safe_next(Some("/usuarios")), "/usuarios");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
