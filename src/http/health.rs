//! Operations endpoints, public by design: liveness, readiness, Prometheus metrics.

use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::domain::InstanceId;

/// Alive: the process answers.
pub async fn check_liveness() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n")
}

/// Ready: the database answers and the background workers run.
pub async fn check_readiness(state: web::Data<AppState>) -> HttpResponse {
    let db = state.run(|db| db.ping()).await;
    let db_ok = db.is_ok();
    let workers = state.workers_ready.load(Ordering::SeqCst);
    let body = format!(
        "database: {}\nworkers: {}\n",
        match db {
            Ok(()) => "ok",
            // avisa reopens the file by itself once space is freed: not ready, but alive.
            Err(crate::db::DbError::DiskFull) => "disk full",
            Err(_) => "unavailable",
        },
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

/// Prometheus text: request counters, the outbox's figures, queue depth by instance.
pub async fn export_metrics(state: web::Data<AppState>) -> HttpResponse {
    use std::fmt::Write as _;
    let mut body = state.metrics.render();
    if let Some(outbox) = state.outbox_metrics.get() {
        body.push_str(&outbox.render());
    }
    let read = state
        .run(|db| {
            Ok((
                db.outbox_len()?,
                db.list_instances()?,
                db.outbox_depth_by_store()?,
                db.list_stores()?,
            ))
        })
        .await;
    if let Ok((depth, instances, by_store, stores)) = read {
        // Depth by instance (the stores it serves) and the instance's connection state.
        let mut by_instance: std::collections::BTreeMap<Option<InstanceId>, u64> =
            Default::default();
        for (store_id, n) in by_store {
            let instance = stores
                .iter()
                .find(|s| s.id == store_id)
                .and_then(|s| s.instance_id);
            *by_instance.entry(instance).or_default() += n;
        }
        body.push_str("# HELP avisa_outbox_scheduled_by_instance Scheduled messages by instance and its connection state.\n# TYPE avisa_outbox_scheduled_by_instance gauge\n");
        for (instance, n) in by_instance {
            let (id, channel) = match instance {
                Some(id) => (id.to_string(), state.channels.state(id)),
                None => (
                    "none".to_owned(),
                    crate::queue::channel::ChannelState::Disconnected,
                ),
            };
            let label = serde_json::to_value(&channel)
                .ok()
                .and_then(|v| v["state"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                body,
                "avisa_outbox_scheduled_by_instance{{instance=\"{id}\",state=\"{label}\"}} {n}"
            );
        }
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
