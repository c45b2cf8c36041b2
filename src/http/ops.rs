//! Operations endpoints, public by design: liveness, readiness, Prometheus metrics.

use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, web};

use super::AppState;
use super::error::blocking;

/// Alive: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n")
}

/// Ready: the database answers and the background workers run.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let db_ok = blocking(move || store.ping()).await.is_ok();
    let workers = state.workers_ready.load(Ordering::SeqCst);
    let body = format!(
        "database: {}\nworkers: {}\n",
        if db_ok { "ok" } else { "unavailable" },
        if workers { "ok" } else { "starting" }
    );
    if db_ok && workers {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(body)
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(match state.outbox_metrics.get() {
            Some(outbox) => state.metrics.render() + &outbox.render(),
            None => state.metrics.render(),
        })
}
