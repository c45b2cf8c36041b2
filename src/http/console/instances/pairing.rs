//! Pairing a WhatsApp-mode instance from its page (admins only): connect (also "Gerar novo QR"),
//! pair by phone number with an 8-character code, and unlink. Each only asks the instance's
//! pairing control; what happens next arrives on the live state stream the page follows.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use crate::domain::InstanceId;
use crate::domain::InstanceMode;
use crate::domain::Phone;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::console::Page;
use crate::http::error::ApiError;
use crate::queue::channel::Pairing;

/// Why a pairing action cannot run; each is a 409 with its own message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Sandbox,
    NoPairing,
    BadPhone,
}

impl Refusal {
    fn key(self) -> &'static str {
        match self {
            Refusal::Sandbox => "instances.pairing.refused.sandbox",
            Refusal::NoPairing => "instances.pairing.refused.no_pairing",
            Refusal::BadPhone => "instances.pairing.refused.bad_phone",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Refusal::Sandbox | Refusal::NoPairing => StatusCode::CONFLICT,
            Refusal::BadPhone => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// The pairing control of a WhatsApp-mode instance, or why there is none.
async fn control(
    state: &web::Data<AppState>,
    id: InstanceId,
) -> Result<Result<std::sync::Arc<dyn Pairing>, Refusal>, ApiError> {
    let instance = state.run(move |db| db.instance(id)).await?;
    if instance.mode == InstanceMode::Sandbox {
        return Ok(Err(Refusal::Sandbox));
    }
    Ok(state.channels.pairing(id).ok_or(Refusal::NoPairing))
}

async fn refused(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    id: InstanceId,
    refusal: Refusal,
) -> Result<HttpResponse, ApiError> {
    Page::new(state, req, &admin, "pairing_refused.html")
        .menu("instances")
        .status(refusal.status())
        .render(context! { id => id, message => refusal.key() })
        .await
}

fn back(id: InstanceId) -> HttpResponse {
    redirect(&format!("/instancias/{id}#conexao"))
}

/// `POST /instancias/{id}/conectar`: connect, or start over with a new client ("Gerar novo QR").
pub async fn connect_instance(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    match control(&state, id).await? {
        Ok(pairing) => {
            pairing.connect();
            tracing::info!(instance_id = id.0, by = admin.0.user.id, "pairing: connect");
            Ok(back(id))
        }
        Err(refusal) => refused(&state, &req, &admin, id, refusal).await,
    }
}

/// `POST /instancias/{id}/cancelar`: stop the attempt in progress (connecting, reconnecting, a QR
/// or code on screen); the instance shows disconnected until Conectar.
pub async fn cancel_instance_connection(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    match control(&state, id).await? {
        Ok(pairing) => {
            pairing.cancel();
            tracing::info!(instance_id = id.0, by = admin.0.user.id, "pairing: cancel");
            Ok(back(id))
        }
        Err(refusal) => refused(&state, &req, &admin, id, refusal).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PairCodeForm {
    #[serde(default)]
    phone: String,
}

/// `POST /instancias/{id}/codigo`: pair by phone number; the 8-character code arrives on the
/// state stream.
pub async fn pair_instance_with_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
    form: web::Form<PairCodeForm>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let pairing = match control(&state, id).await? {
        Ok(pairing) => pairing,
        Err(refusal) => return refused(&state, &req, &admin, id, refusal).await,
    };
    let Ok(phone) = Phone::parse(&form.phone) else {
        return refused(&state, &req, &admin, id, Refusal::BadPhone).await;
    };
    pairing.pair_with_code(phone.as_str());
    tracing::info!(
        instance_id = id.0,
        by = admin.0.user.id,
        "pairing: code requested"
    );
    Ok(back(id))
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfirmForm {
    confirm: Option<String>,
}

/// `POST /instancias/{id}/desconectar`: unlink this device from the phone (needs the
/// confirmation box ticked; without it nothing happens).
pub async fn disconnect_instance(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let pairing = match control(&state, id).await? {
        Ok(pairing) => pairing,
        Err(refusal) => return refused(&state, &req, &admin, id, refusal).await,
    };
    if form.confirm.is_none() {
        return Err(ApiError::Validation(
            "tick the confirmation box to unlink the number".into(),
        ));
    }
    pairing.logout();
    tracing::info!(instance_id = id.0, by = admin.0.user.id, "pairing: logout");
    Ok(back(id))
}
