//! One message's page: its full text, status history and the actions still open (the actions
//! themselves are `actions`; a refused one comes back here with its reason).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};

use crate::domain::planning::is_recovery;
use crate::domain::{MessageId, StoreId};
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::console::Page;
use crate::http::console::view::{local_input, reason_view, row_view};
use crate::http::error::ApiError;
use crate::http::operations::messages::with_store;

/// One message's page; `error` is a catalog key shown above it with `status` (a refused action).
pub(super) async fn detail_page(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    id: MessageId,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let (record, store) = state.run(move |db| with_store(db, db.message(id)?)).await?;
    let names: HashMap<StoreId, String> = store.iter().map(|s| (s.id, s.name.clone())).collect();
    let history: Vec<Value> = record
        .history
        .iter()
        .rev()
        .map(|c| {
            context! {
                at => c.at,
                status => c.status.as_str(),
                reason => reason_view(c.reason.as_deref()),
            }
        })
        .collect();
    let now = state.clock.now();
    let ctx = context! {
        m => row_view(&record, &names),
        history => history,
        error => error,
        due_input => local_input(record.due_at.max(now)),
        min_input => local_input(now),
        can_mark_paid => record.order_id.is_some() && is_recovery(record.kind),
        buyer_link => format!("/mensagens?phone={}", form_urlencoded::byte_serialize(record.phone.as_bytes()).collect::<String>()),
        conversation_link => format!("/mensagens/comprador?phone={}", form_urlencoded::byte_serialize(record.phone.as_bytes()).collect::<String>()),
    };
    Page::new(state, req, viewer, "message.html")
        .menu("messages")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /mensagens/{id}`.
pub async fn show_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<MessageId>,
) -> Result<HttpResponse, ApiError> {
    detail_page(
        &state,
        &req,
        &viewer,
        path.into_inner(),
        None,
        StatusCode::OK,
    )
    .await
}
