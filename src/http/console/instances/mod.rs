//! The Instâncias pages: the list with each number's live state, today's sends and queue; the
//! new-instance form; one instance's page with its sending rules and linked stores. Anyone
//! logged in may look; only admins change anything. Submodules: pairing (QR, code, disconnect),
//! the live events stream, the automatic reply. The rules and actions are
//! `operations::instances`.

mod deliverability;
mod events;
mod pairing;
mod replies;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use crate::domain::InstanceMode;
use crate::domain::planning::QuietHours;
use crate::domain::sending::Pacing;
use crate::domain::{InstanceId, StoreId};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::summary::last_week_summary;
use crate::http::console::view::ser;
use crate::http::error::ApiError;
use crate::http::operations::instances::rules::{
    CheckedChange, InstanceChange, InstanceInvalid, MAX_DAILY_LIMIT, MAX_INTERVAL_S,
    MAX_JITTER_PCT, MAX_NAME, MAX_TYPING_S, check_name, parse_hhmm, parse_mode,
};
use crate::http::operations::instances::{self as ops, InstanceView};

pub use deliverability::{resume_instance, save_warmup};
pub use events::stream_instance_events;
pub use pairing::{
    cancel_instance_connection, connect_instance, disconnect_instance, pair_instance_with_code,
};
pub use replies::save_auto_reply;

/// The states a page can show (`instances.state.<name>`), as `ChannelState` serialises them,
/// each with its badge class.
pub const STATES: &[(&str, &str)] = &[
    ("connecting", "msg-scheduled"),
    ("waiting_for_qr", "msg-scheduled"),
    ("waiting_for_code", "msg-scheduled"),
    ("pairing_expired", "off"),
    ("reconnecting", "msg-scheduled"),
    ("failed", "msg-failed"),
    ("connected", "on"),
    ("logged_out", "msg-failed"),
    ("temporarily_banned", "msg-failed"),
    ("replaced", "msg-failed"),
    ("disconnected", "off"),
];

/// The list page follows states live only up to this many instances: each live badge holds a
/// connection, and browsers allow about six per site over HTTP/1.1 (more would stall the page).
const LIVE_LIST_MAX: usize = 4;

fn state_names() -> Vec<&'static str> {
    STATES.iter().map(|(name, _)| *name).collect()
}

fn state_classes() -> BTreeMap<&'static str, &'static str> {
    STATES.iter().copied().collect()
}

/// The new-instance form.
#[derive(Debug, Default, Deserialize)]
pub struct NewInstanceForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mode: String,
}

/// The settings form on an instance's page. Every field is text, so "abc" gets a clear message
/// instead of a parser's refusal.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    interval_s: String,
    #[serde(default)]
    jitter_pct: String,
    #[serde(default)]
    daily_limit: String,
    #[serde(default)]
    quiet_start: String,
    #[serde(default)]
    quiet_end: String,
    #[serde(default)]
    typing_seconds: String,
}

impl SettingsForm {
    fn from_view(view: &InstanceView) -> SettingsForm {
        SettingsForm {
            name: view.name.clone(),
            mode: mode_id(view.mode).to_owned(),
            interval_s: view.interval_s.to_string(),
            jitter_pct: view.jitter_pct.to_string(),
            daily_limit: view.daily_limit.to_string(),
            quiet_start: view.quiet_hours.start.clone(),
            quiet_end: view.quiet_hours.end.clone(),
            typing_seconds: view.typing_seconds.to_string(),
        }
    }

    /// The checked change this form asks for, or every reason it cannot be saved (in the
    /// order of the form's fields).
    fn checked(&self) -> Result<CheckedChange, Vec<InstanceInvalid>> {
        let mut errors = Vec::new();
        let mut number = |text: &str, error: InstanceInvalid| match text.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(error);
                None
            }
        };
        let interval_s = number(&self.interval_s, InstanceInvalid::Interval);
        let jitter_pct = number(&self.jitter_pct, InstanceInvalid::Jitter);
        let daily_limit = number(&self.daily_limit, InstanceInvalid::DailyLimit);
        let typing_seconds = number(&self.typing_seconds, InstanceInvalid::Typing);
        let mode = parse_mode(&self.mode).map_err(|e| errors.push(e)).ok();
        let quiet_hours = match (parse_hhmm(&self.quiet_start), parse_hhmm(&self.quiet_end)) {
            (Some(start_min), Some(end_min)) => Some(QuietHours { start_min, end_min }),
            _ => {
                errors.push(InstanceInvalid::QuietHours);
                None
            }
        };
        let checked = InstanceChange {
            name: Some(self.name.clone()),
            mode,
            interval_s,
            jitter_pct,
            daily_limit,
            quiet_hours,
            typing_seconds,
        }
        .check();
        match checked {
            Ok(change) if errors.is_empty() => return Ok(change),
            Ok(_) => {}
            // A field the parser refused is absent from the change: no error is counted twice.
            Err(more) => errors.extend(more),
        }
        errors.sort_by_key(|e| InstanceInvalid::ALL.iter().position(|a| a == e));
        Err(errors)
    }
}

fn mode_id(mode: InstanceMode) -> &'static str {
    match mode {
        InstanceMode::Sandbox => "sandbox",
        InstanceMode::Whatsapp => "whatsapp",
    }
}

/// `GET /instancias`.
pub async fn list_instances(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let (views, overview) = ops::load_views(&state).await?;
    // Stores whose messages wait because no instance sends for them.
    let unlinked: Vec<Value> = overview
        .stores
        .iter()
        .filter(|s| s.instance_id.is_none())
        .map(|s| {
            let queued = overview.queued_by_store.get(&s.id).copied().unwrap_or(0);
            context! { id => s.id, name => s.name.clone(), queued => queued }
        })
        .collect();
    let ctx = context! {
        instances => ser(&views),
        unlinked => unlinked,
        queue_capped => overview.queue_capped,
        live_list => views.len() <= LIVE_LIST_MAX,
        state_names => state_names(),
        state_class => state_classes(),
    };
    Page::new(&state, &req, &viewer, "instances.html")
        .menu("instances")
        .render(ctx)
        .await
}

async fn new_instance_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    form: NewInstanceForm,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let ctx = context! {
        max_name => MAX_NAME,
        form => context! { name => form.name, mode => form.mode },
        error => error,
    };
    Page::new(state, req, &admin, "instance_new.html")
        .menu("instances")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /instancias/nova`.
pub async fn show_new_instance(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let form = NewInstanceForm {
        name: String::new(),
        mode: "sandbox".to_owned(),
    };
    new_instance_page(&state, &req, &admin, form, None, StatusCode::OK).await
}

/// `POST /instancias`.
pub async fn create_instance(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<NewInstanceForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let checked = check_name(&form.name).and_then(|name| Ok((name, parse_mode(&form.mode)?)));
    let (name, mode) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return new_instance_page(&state, &req, &admin, form, Some(e.key()), status).await;
        }
    };
    let record = ops::create_instance(&state, name, mode).await?;
    tracing::info!(
        instance_id = record.id.0,
        by = admin.0.user.id,
        "instance created"
    );
    Ok(redirect(&format!(
        "/instancias/{}?ok=instance_created",
        record.id
    )))
}

/// One instance's page; `rejected` carries a refused settings form back with its errors.
async fn instance_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
    id: InstanceId,
    rejected: Option<(SettingsForm, Vec<InstanceInvalid>)>,
) -> Result<HttpResponse, ApiError> {
    let (view, overview) = ops::load_view(state, id, viewer.is_admin()).await?;
    // Stores this instance could take over, each with the instance it sends through today.
    let linkable: Vec<Value> = overview
        .stores
        .iter()
        .filter(|s| s.instance_id != Some(id))
        .map(|s| {
            let current = s
                .instance_id
                .and_then(|i| overview.find(i))
                .map(|i| i.name.clone());
            context! { id => s.id, name => s.name.clone(), current => current }
        })
        .collect();
    let (form, errors, status) = match rejected {
        Some((form, errors)) => (form, errors, StatusCode::UNPROCESSABLE_ENTITY),
        None => (SettingsForm::from_view(&view), Vec::new(), StatusCode::OK),
    };
    let summary = last_week_summary(state, None, Some(id)).await?;
    let delivery = deliverability::panels(state, id).await?;
    let ctx = context! {
        delivery => delivery,
        summary => summary,
        instance => ser(&view),
        form => ser(&form),
        errors => errors.iter().map(|e| e.key()).collect::<Vec<_>>(),
        linkable => linkable,
        warn_below => Pacing::WARN_BELOW_S,
        max_name => MAX_NAME,
        max_interval => MAX_INTERVAL_S,
        max_jitter => MAX_JITTER_PCT,
        max_daily => MAX_DAILY_LIMIT,
        max_typing => MAX_TYPING_S,
        state_names => state_names(),
        state_class => state_classes(),
        auto_reply => ser(&overview.find(id).map(|r| r.auto_reply.clone()).unwrap_or_default()),
        max_auto_reply => replies::MAX_AUTO_REPLY,
    };
    Page::new(state, req, viewer, "instance.html")
        .menu("instances")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /instancias/{id}`.
pub async fn show_instance(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    instance_page(&state, &req, &viewer, id.into_inner(), None).await
}

/// `POST /instancias/{id}`: name, mode and sending rules.
pub async fn update_instance(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let id = id.into_inner();
    let change = match form.checked() {
        Ok(change) => change,
        Err(errors) => {
            return instance_page(&state, &req, &admin.0, id, Some((form, errors))).await;
        }
    };
    ops::save_instance(&state, id, change).await?;
    tracing::info!(instance_id = id.0, by = admin.0.user.id, "instance updated");
    Ok(redirect(&format!("/instancias/{id}?ok=saved")))
}

/// `POST /instancias/{id}/excluir`: its stores are unlinked; their messages wait.
pub async fn delete_instance(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    ops::delete_instance(&state, id).await?;
    tracing::info!(instance_id = id.0, by = admin.0.user.id, "instance deleted");
    Ok(redirect("/instancias?ok=instance_deleted"))
}

#[derive(Debug, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    store_id: String,
}

/// `POST /instancias/{id}/lojas`: the chosen store sends through this instance from now on.
pub async fn link_store(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let Ok(store_id) = form.store_id.trim().parse::<StoreId>() else {
        return Err(ApiError::NotFound);
    };
    ops::link_store(&state, id, store_id).await?;
    tracing::info!(
        instance_id = id.0,
        store_id = store_id.0,
        by = admin.0.user.id,
        "store linked"
    );
    Ok(redirect(&format!("/instancias/{id}?ok=store_linked")))
}

/// `POST /instancias/{id}/lojas/{store}/desvincular`: the store's messages wait until it is
/// linked again.
pub async fn unlink_store(
    state: web::Data<AppState>,
    admin: AdminViewer,
    path: web::Path<(InstanceId, StoreId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, store_id) = path.into_inner();
    ops::unlink_store(&state, id, store_id).await?;
    tracing::info!(
        instance_id = id.0,
        store_id = store_id.0,
        by = admin.0.user.id,
        "store unlinked"
    );
    Ok(redirect(&format!("/instancias/{id}?ok=store_unlinked")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ui::{LANGUAGES, catalog_keys};
    use crate::queue::channel::ChannelState;

    /// Keys the instance templates build at render time (`t("instances.state." ~ s)`).
    #[test]
    fn every_state_has_a_label_and_the_names_match_the_enum() {
        let all = [
            ChannelState::Connecting,
            ChannelState::WaitingForQr {
                qr: String::new(),
                expires_at: 0,
            },
            ChannelState::WaitingForCode {
                code: String::new(),
                expires_at: 0,
            },
            ChannelState::PairingExpired,
            ChannelState::Reconnecting,
            ChannelState::Failed {
                reason: crate::queue::channel::Unreachable::Dns,
                detail: String::new(),
            },
            ChannelState::Connected {
                number: String::new(),
                name: String::new(),
            },
            ChannelState::LoggedOut,
            ChannelState::TemporarilyBanned {
                reason: String::new(),
                until: 0,
            },
            ChannelState::Replaced,
            ChannelState::Disconnected,
        ];
        let names: Vec<String> = all
            .iter()
            .map(|s| ops::state_json(s, false)["state"].to_string())
            .map(|s| s.trim_matches('"').to_owned())
            .collect();
        assert_eq!(names, state_names());
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            for name in state_names() {
                let key = format!("instances.state.{name}");
                assert!(keys.contains(&key), "{lang} lacks {key}");
            }
            for code in ["no_internet", "dns", "refused", "timeout", "tls", "other"] {
                let key = format!("instances.unreachable.{code}");
                assert!(keys.contains(&key), "{lang} lacks {key}");
            }
        }
    }

    #[test]
    fn the_settings_form_names_every_bad_field() {
        let form = SettingsForm {
            name: "Loja".into(),
            mode: "sandbox".into(),
            interval_s: "abc".into(),
            jitter_pct: "30".into(),
            daily_limit: "-1".into(),
            quiet_start: "25:00".into(),
            quiet_end: "08:00".into(),
            typing_seconds: "3".into(),
        };
        assert_eq!(
            form.checked().map(|_| ()),
            Err(vec![
                InstanceInvalid::Interval,
                InstanceInvalid::DailyLimit,
                InstanceInvalid::QuietHours
            ])
        );
    }
}
