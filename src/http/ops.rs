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
    use std::fmt::Write as _;
    let mut body = state.metrics.render();
    if let Some(outbox) = state.outbox_metrics.get() {
        body.push_str(&outbox.render());
    }
    let store = state.store.clone();
    if let Ok((depth, instances)) =
        blocking(move || Ok((store.outbox_len()?, store.list_instances()?))).await
    {
        body.push_str("# HELP avisa_outbox_scheduled Messages scheduled and not yet sent.\n# TYPE avisa_outbox_scheduled gauge\n");
        let _ = writeln!(body, "avisa_outbox_scheduled {depth}");
        body.push_str("# HELP avisa_instance_connected 1 when the instance's channel is connected.\n# TYPE avisa_instance_connected gauge\n");
        for instance in instances {
            let connected = u8::from(state.channels.state(instance.id).is_connected());
            let _ = writeln!(
                body,
                "avisa_instance_connected{{instance=\"{}\"}} {connected}",
                instance.id
            );
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
