//! Prometheus text metrics: HTTP requests by route pattern and status, plus what later parts
//! register. Counters live in memory; a restart starts them at zero, as Prometheus expects.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use super::AppState;

#[derive(Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<(String, String, u16), u64>>,
    webhooks: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    pub fn count_request(&self, method: &str, route: &str, status: u16) {
        let mut map = self.http.lock().expect("metrics lock is never poisoned");
        *map.entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
    }

    /// Counts a webhook delivery by platform and outcome (accepted, duplicate, bad_body, …).
    pub fn count_webhook(&self, platform: &str, outcome: &str) {
        let mut map = self
            .webhooks
            .lock()
            .expect("metrics lock is never poisoned");
        *map.entry((platform.to_owned(), outcome.to_owned()))
            .or_default() += 1;
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP avisa_http_requests_total HTTP requests by method, route pattern and status.\n",
        );
        out.push_str("# TYPE avisa_http_requests_total counter\n");
        let map = self.http.lock().expect("metrics lock is never poisoned");
        for ((method, route, status), count) in map.iter() {
            let _ = writeln!(
                out,
                "avisa_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        drop(map);
        out.push_str("# HELP avisa_webhooks_total Webhook deliveries by platform and outcome.\n");
        out.push_str("# TYPE avisa_webhooks_total counter\n");
        let hooks = self
            .webhooks
            .lock()
            .expect("metrics lock is never poisoned");
        for ((platform, outcome), count) in hooks.iter() {
            let _ = writeln!(
                out,
                "avisa_webhooks_total{{platform=\"{platform}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        drop(hooks);
        out.push_str(
            "# HELP avisa_build_info The running avisa version.\n# TYPE avisa_build_info gauge\n",
        );
        let _ = writeln!(
            out,
            "avisa_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

/// Counts every request by its route pattern (never the raw path: webhook tokens stay out).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        state.metrics.count_request(
            res.request().method().as_str(),
            &route,
            res.status().as_u16(),
        );
    }
    Ok(res)
}
