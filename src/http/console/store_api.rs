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

/// How far back saved credentials reach: thin notifications kept unmapped for want of them in
/// the last 48 hours (the time avisa holds messages while offline) are fetched too; older ones
/// would only plan reminders that are too late.
const HOLD_BACK_S: i64 = 48 * 3600;

/// The most a value may be: platforms' tokens are well under a few hundred characters.
const MAX_VALUE: usize = 2048;
/// The most a PEM text may be (Efí's certificate: certificate, chain and key, a few KB).
const MAX_PEM: usize = 16 * 1024;

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
                multiline => crate::ingest::enrich_oauth::pem_field(f.name),
                shown => value.map(|v| shown(f.name, f.secret, v)),
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
            // A PEM text is pasted with its line breaks (a textarea).
            let pem = crate::ingest::enrich_oauth::pem_field(field.name);
            let bad = |c: char| c.is_control() && !(pem && matches!(c, '\n' | '\r' | '\t'));
            let limit = if pem { MAX_PEM } else { MAX_VALUE };
            if typed.len() > limit || typed.chars().any(bad) {
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
            check_certificate(store.platform, &credentials)?;
            // An access token obtained with the old values is not kept for the new ones.
            credentials.session = None;
            let now = state.clock.now();
            let held = state
                .run(move |db| {
                    db.set_api_credentials(id, Some(&credentials))?;
                    db.hold_unmapped_thin(id, now - HOLD_BACK_S, now)
                })
                .await?;
            if held > 0 {
                tracing::info!(
                    store_id = id.0,
                    held,
                    "thin events fetched with the new credentials"
                );
                "api_token_saved_held"
            } else {
                "api_token_saved"
            }
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

/// What the store page shows of a saved value: a secret masked (a certificate only said to be
/// there: its last characters are the PEM trailer), anything else as typed.
fn shown(name: &str, secret: bool, value: &str) -> String {
    if crate::ingest::enrich_oauth::pem_field(name) {
        "certificado salvo".to_owned()
    } else if secret {
        mask(value)
    } else {
        value.to_owned()
    }
}

/// A platform that wants mutual TLS (Efí) gets a certificate and key the TLS library accepts:
/// a bad paste is refused here, with what to do, rather than failing every call later.
fn check_certificate(
    platform: crate::domain::Platform,
    credentials: &crate::domain::enrichment::ApiCredentials,
) -> Result<(), ApiError> {
    use crate::net::{ClientIdentity, IdentityError};
    if !crate::ingest::enrich_oauth::mutual_tls(platform) {
        return Ok(());
    }
    let pem = credentials
        .get(crate::ingest::enrich_oauth::CERTIFICATE)
        .unwrap_or_default();
    ClientIdentity::from_pem(pem).map(drop).map_err(|e| {
        ApiError::Validation(
            match e {
                IdentityError::NoKey => {
                    "certificado: falta a chave privada (converta o .p12 com -nodes e cole o \
                     .pem inteiro)"
                }
                IdentityError::NoCertificate | IdentityError::Unreadable(_) => {
                    "certificado: cole o conteúdo do arquivo .pem (de -----BEGIN a -----END), \
                     convertido do .p12 com o comando indicado"
                }
                IdentityError::Refused(_) => {
                    "certificado: a chave privada não corresponde ao certificado, ou o tipo de \
                     chave não é aceito"
                }
            }
            .to_owned(),
        )
    })
}
