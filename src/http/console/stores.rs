//! The Lojas pages: the list, the new-store form, and one store's page with its webhook URL,
//! setup steps and checklist. Anyone logged in may look; only admins change anything.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::db::DbError;
use crate::domain::Store;
use crate::domain::StoreId;
use crate::domain::{Platform, PlatformGroup};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::summary::last_week_summary;
use crate::http::console::view::ser;
use crate::http::error::ApiError;
use crate::http::operations::stores::{self as ops, MAX_NAME, StoreChange, StoreView, new_store};

/// The groups of the platform `<select>`, in the order merchants scan them.
const GROUPS: [PlatformGroup; 4] = [
    PlatformGroup::Checkout,
    PlatformGroup::Ecommerce,
    PlatformGroup::Gateway,
    PlatformGroup::Api,
];

/// The new-store form. Checkboxes send nothing when unticked, so every field is optional.
#[derive(Debug, Default, Deserialize)]
pub struct NewStoreForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    public_name: String,
    enabled: Option<String>,
    #[serde(default)]
    secret: String,
}

/// The edit form on a store's page: an empty secret keeps the current one.
#[derive(Debug, Default, Deserialize)]
pub struct StoreEditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    public_name: String,
    enabled: Option<String>,
    #[serde(default)]
    secret: String,
    remove_secret: Option<String>,
}

/// The platforms by group for the `<select>`, each with the kind of secret it offers.
fn platform_groups() -> Vec<Value> {
    GROUPS
        .iter()
        .map(|group| {
            let platforms: Vec<Value> = Platform::ALL
                .iter()
                .filter(|p| p.group() == *group)
                .map(|p| {
                    context! {
                        id => p.id(),
                        label => p.label(),
                        secret_kind => ser(&p.secret_kind()),
                        signature_unchecked => p.signature_unchecked(),
                    }
                })
                .collect();
            context! { key => ser(group), platforms => platforms }
        })
        .collect()
}

/// `GET /lojas`.
pub async fn list_stores(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let mut stores = state.run(move |db| db.list_stores()).await?;
    stores.sort_by_key(|s| s.name.to_lowercase());
    let stores: Vec<StoreView> = stores
        .iter()
        .map(|r| StoreView::new(r, &state.public_url().url).for_viewer(viewer.is_admin()))
        .collect();
    let ctx = context! { stores => ser(&stores) };
    Page::new(&state, &req, &viewer, "stores.html")
        .menu("stores")
        .render(ctx)
        .await
}

async fn new_store_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    form: NewStoreForm,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    // The secret the merchant typed is not echoed back: a page never prints one.
    let ctx = context! {
        groups => platform_groups(),
        // A platform with a documented preset is offered (as a `custom` store), not "em breve".
        presets => crate::ingest::mapping_presets::PRESETS.iter().map(|p| context! { id => p.id, label => p.label }).collect::<Vec<_>>(),
        coming_soon => Platform::COMING_SOON.iter().copied().filter(|name| !crate::ingest::mapping_presets::PRESETS.iter().any(|p| p.label == *name)).collect::<Vec<_>>(),
        max_name => MAX_NAME,
        company_name => company_name(state).await?,
        form => context! {
            name => form.name,
            public_name => form.public_name,
            platform => form.platform,
            enabled => form.enabled.is_some() || error.is_none(),
        },
        error => error,
    };
    Page::new(state, req, &admin, "store_new.html")
        .menu("stores")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /lojas/nova`.
pub async fn show_new_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let form = NewStoreForm {
        platform: Platform::Hotmart.id().to_owned(),
        ..NewStoreForm::default()
    };
    new_store_page(&state, &req, &admin, form, None, StatusCode::OK).await
}

/// `POST /lojas`.
pub async fn create_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<NewStoreForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    // `preset:<id>`: a `custom` store that starts with the preset's mapping.
    let preset = form
        .platform
        .strip_prefix("preset:")
        .and_then(crate::ingest::mapping_presets::preset);
    let platform = if preset.is_some() {
        Platform::Custom.id()
    } else {
        form.platform.as_str()
    };
    let checked = new_store(
        &form.name,
        platform,
        form.enabled.is_some(),
        &form.secret,
        state.clock.now(),
    );
    let checked = checked.and_then(|new| Ok((new, ops::check_public_name(&form.public_name)?)));
    let (new, public_name) = match checked {
        Ok(new) => new,
        Err(e) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return new_store_page(&state, &req, &admin, form, Some(e.key()), status).await;
        }
    };
    let record = ops::create_store(&state, new, public_name).await?;
    if let Some(mapping) = preset {
        let id = record.id;
        crate::http::operations::mappings::save_mapping(&state, id, mapping, true)
            .await
            .map_err(|e| match e {
                crate::http::operations::mappings::MappingRefusal::Db(e) => ApiError::Db(e),
                crate::http::operations::mappings::MappingRefusal::Invalid(e) => {
                    ApiError::Internal(format!("a shipped preset is invalid: {e}"))
                }
            })?;
    }
    tracing::info!(
        store_id = record.id.0,
        by = admin.0.user.id,
        "store created"
    );
    Ok(redirect(&format!("/lojas/{}?ok=store_created", record.id)))
}

/// The company name of Configurações: the buyer-facing name of a store without its own.
async fn company_name(state: &web::Data<AppState>) -> Result<String, ApiError> {
    Ok(state
        .run(|db| Ok(db.console_settings()?.company_name))
        .await?)
}

/// A rejected edit form carried back to the page: nickname, buyer-facing name, error key.
type RejectedEdit = (String, String, &'static str);

/// One store's page; `edit` carries a rejected edit form back with its error.
async fn store_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
    record: &Store,
    edit: Option<RejectedEdit>,
) -> Result<HttpResponse, ApiError> {
    let view = StoreView::new(record, &state.public_url().url).for_viewer(viewer.is_admin());
    let (edit_name, edit_public_name, error, status) = match edit {
        Some((name, public_name, error)) => (
            name,
            public_name,
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        None => (
            record.name.clone(),
            record.public_name.clone(),
            None,
            StatusCode::OK,
        ),
    };
    // The instance it sends through: name, and whether it is connected, for the checklist.
    let linked = match record.instance_id {
        Some(instance_id) => match state.run(move |db| db.instance(instance_id)).await {
            Ok(instance) => Some(context! {
                id => instance.id,
                name => instance.name,
                // A sandbox is always "connected", but it sends nothing to WhatsApp.
                sandbox => instance.mode == crate::domain::InstanceMode::Sandbox,
                connected => state.channels.state(instance_id).is_connected(),
            }),
            Err(DbError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let summary = last_week_summary(state, Some(record.id), None).await?;
    let store_id = record.id;
    let active_templates = state
        .run(move |db| {
            let mut active = 0;
            for (_, kinds) in crate::http::console::templates::KIND_GROUPS {
                for kind in kinds {
                    let template = db
                        .template(store_id, *kind)?
                        .unwrap_or_else(|| crate::render::default_template(*kind));
                    active += usize::from(template.enabled);
                }
            }
            Ok(active)
        })
        .await?;
    let mapping = crate::http::console::mapping::store_summary(state, record).await?;
    let api = crate::http::console::store_api::section(state, record).await?;
    let ctx = context! {
        api => api,
        mapping => mapping,
        guide => crate::http::console::integrations::guide_view(
            &crate::ingest::catalog::guide(record.platform)
        ),
        summary => summary,
        store => ser(&view),
        instance => linked,
        active_templates => active_templates,
        edit_name => edit_name,
        edit_public_name => edit_public_name,
        company_name => company_name(state).await?,
        max_name => MAX_NAME,
        error => error,
    };
    Page::new(state, req, viewer, "store.html")
        .menu("stores")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /lojas/{id}`.
pub async fn show_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let record = state.run(move |db| db.store(id)).await?;
    store_page(&state, &req, &viewer, &record, None).await
}

/// `POST /lojas/{id}`: name, on/off and secret.
pub async fn update_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<StoreId>,
    form: web::Form<StoreEditForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let id = id.into_inner();
    let secret = if form.remove_secret.is_some() {
        Some(None)
    } else if form.secret.trim().is_empty() {
        None
    } else {
        Some(Some(form.secret))
    };
    let change = StoreChange {
        name: Some(form.name.clone()),
        public_name: Some(form.public_name.clone()),
        enabled: Some(form.enabled.is_some()),
        secret,
    };
    match ops::update_store(&state, id, change).await? {
        Ok(_) => {
            tracing::info!(store_id = id.0, by = admin.0.user.id, "store updated");
            Ok(redirect(&format!("/lojas/{id}?ok=saved")))
        }
        Err(invalid) => {
            let record = state.run(move |db| db.store(id)).await?;
            let edit = Some((form.name, form.public_name, invalid.key()));
            store_page(&state, &req, &admin.0, &record, edit).await
        }
    }
}

/// `POST /lojas/{id}/token`: a new webhook URL; the old one answers 404 from now on.
pub async fn regenerate_store_token(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    ops::regenerate_store_token(&state, id).await?;
    tracing::info!(
        store_id = id.0,
        by = admin.0.user.id,
        "webhook token regenerated"
    );
    Ok(redirect(&format!("/lojas/{id}?ok=token_regenerated")))
}

/// `POST /lojas/{id}/excluir`: the store and its URL go; its events stay in the history.
pub async fn delete_store(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    ops::delete_store(&state, id).await?;
    tracing::info!(store_id = id.0, by = admin.0.user.id, "store deleted");
    Ok(redirect("/lojas?ok=store_deleted"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ui::{LANGUAGES, catalog_keys};

    /// Keys the store templates build at render time (`t("stores.steps." ~ id)`), which the
    /// literal-key test cannot see.
    #[test]
    fn every_built_key_is_in_the_catalogs() {
        let mut wanted: Vec<String> = Platform::ALL
            .iter()
            .map(|p| format!("stores.steps.{}", p.id()))
            .collect();
        for group in GROUPS {
            let group = serde_json::to_value(group).expect("group serialises");
            let group = group.as_str().expect("group is a string");
            wanted.push(format!("stores.group.{group}"));
        }
        for kind in ["token", "hmac_key"] {
            wanted.push(format!("stores.secret_label.{kind}"));
            wanted.push(format!("stores.secret_hint.{kind}"));
        }
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            for key in &wanted {
                assert!(keys.contains(key), "{lang} lacks {key}");
            }
        }
    }
}
