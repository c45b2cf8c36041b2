//! A store's platform API credentials on its page (issue 17, thin notifications): which fields its
//! platform needs (`ingest::enrich::credential`: one token, or several values), what is saved
//! (secrets masked, never in full: a secret's form field is always empty), and saving or
//! removing them. Nothing here logs a value.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use minijinja::{Value, context};

use crate::domain::enrichment::mask;
use crate::domain::{Store, StoreId};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::error::ApiError;

/// The most a value may be: platforms' tokens are well under a few hundred characters.
const MAX_VALUE: usize = 2048;

/// The store page's section: `None` for a platform whose API avisa does not call. Each field
/// with what is saved: a secret masked, anything else as typed.
pub(super) async fn section(state: &AppState, store: &Store) -> Result<Value, ApiError> {
    let Some(credential) = crate::ingest::enrich::credential(store.platform) else {
        return Ok(Value::from(()));
    };
    let id = store.id;
    let saved = state.run(move |db| db.api_credentials(id)).await?;
    let fields: Vec<Value> = credential
        .fields
        .iter()
        .map(|f| {
            let value = saved.as_ref().and_then(|c| c.get(f.name));
            context! {
                name => f.name,
                label => f.label,
                help => f.help,
                secret => f.secret,
                shown => value.map(|v| if f.secret { mask(v) } else { v.to_owned() }),
                value => value.filter(|_| !f.secret),
            }
        })
        .collect();
    Ok(context! {
        fields => fields,
        saved => saved.is_some(),
    })
}

/// `POST /lojas/{id}/api`: saves the fields typed (an empty field keeps the saved value; every
/// field of the platform must end up filled) or removes the credentials.
pub async fn save_api_credentials(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let form = form.into_inner();
    let store = state.run(move |db| db.store(id)).await?;
    let credential = crate::ingest::enrich::credential(store.platform).ok_or_else(|| {
        ApiError::Validation("a plataforma desta loja não tem API no avisa".into())
    })?;
    let outcome = if form.contains_key("remove") {
        state
            .run(move |db| db.set_api_credentials(id, None))
            .await?;
        "api_token_removed"
    } else {
        let saved = state
            .run(move |db| db.api_credentials(id))
            .await?
            .unwrap_or_default();
        let mut credentials = saved.clone();
        for field in credential.fields {
            let typed = form.get(field.name).map(|v| v.trim()).unwrap_or_default();
            if typed.is_empty() {
                continue;
            }
            if typed.len() > MAX_VALUE || typed.chars().any(char::is_control) {
                return Err(ApiError::Validation(format!(
                    "{}: caracteres inválidos ou longo demais",
                    field.label
                )));
            }
            let value = crate::ingest::enrich::normalize(store.platform, field.name, typed)
                .map_err(ApiError::Validation)?;
            credentials.set(field.name, value);
        }
        let missing = credential.missing(&credentials);
        if credentials == saved {
            "api_token_unchanged"
        } else if !missing.is_empty() {
            let labels: Vec<&str> = missing.iter().map(|f| f.label).collect();
            return Err(ApiError::Validation(format!(
                "preencha: {}",
                labels.join(", ")
            )));
        } else {
            state
                .run(move |db| db.set_api_credentials(id, Some(&credentials)))
                .await?;
            "api_token_saved"
        }
    };
    tracing::info!(
        store_id = id.0,
        by = admin.0.user.id,
        outcome,
        "store API credentials"
    );
    Ok(redirect(&format!("/lojas/{id}?ok={outcome}#api")))
}
