//! A store's platform API credentials on its page (issue 17, thin notifications): which token its
//! platform needs (`ingest::enrich::credential`), whether one is saved (shown masked, never in
//! full: the form field is always empty), and saving or removing it. Nothing here logs a token.

use actix_web::{HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::domain::enrichment::ApiCredentials;
use crate::domain::{Store, StoreId};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::error::ApiError;

/// The most a token may be: platforms' tokens are well under a few hundred characters.
const MAX_TOKEN: usize = 2048;

/// The store page's section: `None` for a platform whose API avisa does not call.
pub(super) async fn section(state: &AppState, store: &Store) -> Result<Value, ApiError> {
    let Some(credential) = crate::ingest::enrich::credential(store.platform) else {
        return Ok(Value::from(()));
    };
    let id = store.id;
    let saved = state.run(move |db| db.api_credentials(id)).await?;
    Ok(context! {
        label => credential.label,
        help => credential.help,
        masked => saved.map(|c| c.masked()),
    })
}

#[derive(Deserialize)]
pub struct ApiCredentialsForm {
    #[serde(default)]
    token: String,
    remove: Option<String>,
}

/// `POST /lojas/{id}/api`: saves the token typed (an empty field keeps the saved one) or
/// removes it.
pub async fn save_api_credentials(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<StoreId>,
    form: web::Form<ApiCredentialsForm>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let form = form.into_inner();
    let token = form.token.trim().to_owned();
    let outcome = if form.remove.is_some() {
        state
            .run(move |db| db.set_api_credentials(id, None))
            .await?;
        "api_token_removed"
    } else if token.is_empty() {
        "api_token_unchanged"
    } else if token.len() > MAX_TOKEN || token.chars().any(char::is_control) {
        return Err(ApiError::Validation(
            "o token da API tem caracteres inválidos ou é longo demais".into(),
        ));
    } else {
        let credentials = ApiCredentials { token };
        state
            .run(move |db| db.set_api_credentials(id, Some(&credentials)))
            .await?;
        "api_token_saved"
    };
    tracing::info!(
        store_id = id.0,
        by = admin.0.user.id,
        outcome,
        "store API token"
    );
    Ok(redirect(&format!("/lojas/{id}?ok={outcome}#api")))
}
