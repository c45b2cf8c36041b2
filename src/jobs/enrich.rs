//! Thin notifications' background work: the enrichment worker thread (`queue::enrich::Enricher`
//! over `net::Client` with `Policy::platform_api()`: public HTTPS only, since a store's token
//! must never reach a private address). The one exception is the tests' stand-in base
//! (`ServeConfig::platform_api_stand_in`, never read from the command line or the
//! environment), whose host alone is allowed, explicitly. Uses `db`, `queue`, `net` and
//! `http::AppState`.

use std::sync::Arc;

use crate::db::Db;
use crate::domain::Clock;
use crate::http::AppState;
use crate::net::{Client, Policy, Targets};
use crate::queue::enrich::{ApiBase, Enricher};
use crate::queue::outbound::Transport;

/// Starts the worker; it ends once `state` is gone.
pub fn start_enrichment(db: &Db, state: &AppState, clock: Arc<dyn Clock>, stand_in: Option<&str>) {
    let (transport, base): (Arc<dyn Transport>, ApiBase) = match stand_in {
        None => (
            Arc::new(Client::new(Policy::platform_api())),
            ApiBase::Platforms,
        ),
        Some(base) => {
            let host = base
                .split_once("://")
                .map_or(base, |(_, rest)| rest)
                .split(['/', ':'])
                .next()
                .unwrap_or_default()
                .to_owned();
            let policy = Policy {
                targets: Targets::PublicOnly {
                    allowed_hosts: vec![host],
                },
                allow_http: true,
                ..Policy::platform_api()
            };
            (
                Arc::new(Client::new(policy)),
                ApiBase::StandIn(base.to_owned()),
            )
        }
    };
    // The outbound sender's liveness token: both threads live as long as the server's state.
    Enricher::new(db.clone(), transport, clock, base).spawn(Arc::downgrade(&state.outbound_alive));
}
