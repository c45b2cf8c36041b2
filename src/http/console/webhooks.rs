//! Configurações → Integrações (admins only): outbound webhook endpoints (add, switch on/off,
//! remove) and each one's delivery log with the receiver's status codes, the last answer and
//! "Reenviar".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};

use crate::domain::outbound::{Delivery, DeliveryState, Endpoint, OutboundEvent};
use crate::domain::{DeliveryId, EndpointId, StoreId};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::console::Page;
use crate::http::error::ApiError;
use crate::http::operations::webhooks::{self as ops, EndpointInput, EndpointRefusal};

/// Deliveries the log page shows.
const LOG_ROWS: usize = 100;

fn endpoint_row(e: &Endpoint, stores: &[crate::domain::Store]) -> Value {
    let store = e
        .store_id
        .and_then(|id| stores.iter().find(|s| s.id == id))
        .map(|s| s.name.clone());
    context! {
        id => e.id.0, url => e.url.clone(), description => e.description.clone(),
        events => e.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        store => store, disabled => e.disabled.map(|d| match d {
            crate::domain::outbound::EndpointDisabled::ByAdmin => "by_admin",
            crate::domain::outbound::EndpointDisabled::Failing => "failing",
        }),
        disabled_at => e.disabled_at, failing_since => e.failing_since,
        secret => e.secret.clone(),
    }
}

fn delivery_row(d: &Delivery) -> Value {
    let last = d.attempts.last();
    context! {
        id => d.id.0, public_id => Delivery::public_id(d.id), event => d.event.as_str(),
        created_at => d.created_at,
        state => match d.state {
            // A pending delivery the receiver already refused is being retried, not waiting
            // its first turn.
            DeliveryState::Pending if last.is_some() => "retrying",
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Dropped => "dropped",
        },
        next_at => (d.state == DeliveryState::Pending).then_some(d.next_at),
        attempts => d.attempts.len(),
        status => last.and_then(|a| a.status),
        tried => last.is_some(),
        last_at => last.map(|a| a.at),
        response => last.map(|a| a.response.clone()),
        body => pretty(&d.body),
    }
}

fn pretty(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| body.to_owned())
}

async fn list_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    extra: Value,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let (endpoints, stores) = state
        .run(|db| Ok((db.list_endpoints()?, db.list_stores()?)))
        .await?;
    let rows: Vec<Value> = endpoints.iter().map(|e| endpoint_row(e, &stores)).collect();
    let store_options: Vec<Value> = stores
        .iter()
        .map(|s| context! { id => s.id.0, name => s.name.clone() })
        .collect();
    let defaults = context! {
        endpoints => rows, stores => store_options,
        all_events => OutboundEvent::ALL.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        error => None::<String>, form => context! {},
    };
    let ctx = minijinja::value::merge_maps([defaults, extra]);
    Page::new(state, req, &admin, "webhooks.html")
        .menu("settings")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /configuracoes/integracoes`.
pub async fn list_endpoints(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    list_page(&state, &req, &admin, context! {}, StatusCode::OK).await
}

/// `POST /configuracoes/integracoes`: checkboxes repeat `events`, so the form is read by hand.
pub async fn create_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut input = EndpointInput::default();
    let mut store = String::new();
    for (key, value) in form_urlencoded::parse(&body) {
        match &*key {
            "url" => input.url = value.into_owned(),
            "description" => input.description = value.into_owned(),
            "events" => input.events.push(value.into_owned()),
            "secret" => input.secret = value.into_owned(),
            "store_id" => store = value.into_owned(),
            _ => {}
        }
    }
    input.store_id = store.parse::<StoreId>().ok();
    let form = context! {
        url => input.url.clone(), description => input.description.clone(),
        events => input.events.clone(), store_id => input.store_id.map(|s| s.0),
    };
    match ops::create_endpoint(&state, input).await {
        Ok(endpoint) => {
            tracing::info!(
                endpoint = endpoint.id.0,
                by = admin.0.user.id,
                "webhook endpoint created"
            );
            Ok(redirect(&format!(
                "/configuracoes/integracoes/{}?criado=1",
                endpoint.id.0
            )))
        }
        Err(EndpointRefusal::Invalid { key, .. }) => {
            let ctx = context! { error => key, form => form };
            list_page(&state, &req, &admin, ctx, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(EndpointRefusal::Db(e)) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    criado: Option<String>,
    #[serde(default)]
    reenviado: Option<u64>,
    #[serde(default)]
    confirmar: Option<String>,
}

/// `GET /configuracoes/integracoes/{id}`: the endpoint and its delivery log, newest first.
pub async fn show_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    id: web::Path<EndpointId>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (endpoint, deliveries, stores) = state
        .run(move |db| {
            Ok((
                db.endpoint(id)?,
                db.endpoint_deliveries(id, LOG_ROWS)?,
                db.list_stores()?,
            ))
        })
        .await?;
    let rows: Vec<Value> = deliveries.iter().map(delivery_row).collect();
    let ctx = context! {
        endpoint => endpoint_row(&endpoint, &stores), deliveries => rows,
        created => query.criado.is_some(), resent => query.reenviado,
        unconfirmed => query.confirmar.is_some(),
    };
    Page::new(&state, &req, &admin, "webhook_endpoint.html")
        .menu("settings")
        .render(ctx)
        .await
}

/// `POST /configuracoes/integracoes/{id}/ativar`: switches the endpoint on or off.
pub async fn toggle_endpoint(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<EndpointId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let now = state.clock.now();
    let endpoint = state
        .run(move |db| {
            let enable = db.endpoint(id)?.disabled.is_some();
            db.set_endpoint_enabled(id, enable, now)
        })
        .await?;
    tracing::info!(
        endpoint = id.0,
        by = admin.0.user.id,
        enabled = endpoint.disabled.is_none(),
        "webhook endpoint switched"
    );
    Ok(redirect(&format!("/configuracoes/integracoes/{}", id.0)))
}

#[derive(serde::Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /configuracoes/integracoes/{id}/excluir`: only with the confirmation box ticked;
/// without it nothing happens and the page says why.
pub async fn delete_endpoint(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<EndpointId>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    if form.confirm.is_none() {
        return Ok(redirect(&format!(
            "/configuracoes/integracoes/{}?confirmar=1",
            id.0
        )));
    }
    state.run(move |db| db.delete_endpoint(id)).await?;
    tracing::info!(
        endpoint = id.0,
        by = admin.0.user.id,
        "webhook endpoint deleted"
    );
    Ok(redirect("/configuracoes/integracoes"))
}

/// `POST /configuracoes/integracoes/{id}/entregas/{delivery}/reenviar`: "Reenviar" — the same
/// body and id, due now.
pub async fn resend_delivery(
    state: web::Data<AppState>,
    admin: AdminViewer,
    path: web::Path<(EndpointId, DeliveryId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let now = state.clock.now();
    state
        .run(move |db| {
            if db.delivery(delivery)?.endpoint_id != id {
                return Err(crate::db::DbError::NotFound);
            }
            db.resend_delivery(delivery, now)
        })
        .await?;
    tracing::info!(
        endpoint = id.0,
        delivery = delivery.0,
        by = admin.0.user.id,
        "webhook delivery resent"
    );
    Ok(redirect(&format!(
        "/configuracoes/integracoes/{}?reenviado={}",
        id.0, delivery.0
    )))
}
