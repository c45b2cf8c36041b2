//! The outbound webhook sender: claims due deliveries (`Db::claim_deliveries`, under a lease),
//! signs each body (`signature`), posts it through a `Transport` (`net::Client` with
//! `Policy::admin_configured()` in production) and records the attempt. Blocking code: it runs
//! on its own thread, never on an async worker. Time and jitter are passed in: tests step a
//! clock. Uses `db`, `domain` and `net`.

pub mod signature;

#[cfg(test)]
mod outbound_tests;

use std::sync::{Arc, Weak};

use crate::db::{Claimed, Db, DbError};
use crate::domain::outbound::{Attempt, Delivery, MAX_RESPONSE_CHARS, Outcome};
use crate::domain::{Clock, DeliveryId};
use crate::net::{NetError, Request, Response};

/// Deliveries claimed per pass.
const BATCH: usize = 32;

/// Where a delivery's POST goes: `net::Client` in production, a loopback receiver in tests.
pub trait Transport: Send + Sync {
    fn send(&self, request: Request) -> Result<Response, NetError>;
}

impl Transport for crate::net::Client {
    fn send(&self, request: Request) -> Result<Response, NetError> {
        crate::net::Client::send(self, request)
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub failed: usize,
    /// The earliest pending delivery after the pass.
    pub next_due: Option<i64>,
}

pub struct Sender {
    db: Db,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Fn(DeliveryId) -> f64 + Send + Sync>,
}

impl Sender {
    pub fn new(
        db: Db,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        jitter: Arc<dyn Fn(DeliveryId) -> f64 + Send + Sync>,
    ) -> Sender {
        Sender {
            db,
            transport,
            clock,
            jitter,
        }
    }

    /// Sends every delivery due now, once each. Blocking.
    pub fn run_once(&self) -> Result<Pass, DbError> {
        let mut pass = Pass::default();
        loop {
            let now = self.clock.now();
            let claimed = self.db.claim_deliveries(now, BATCH)?;
            if claimed.is_empty() {
                break;
            }
            for one in claimed {
                match self.deliver(one)? {
                    Outcome::Delivered => pass.delivered += 1,
                    Outcome::Failed => pass.failed += 1,
                }
            }
        }
        pass.next_due = self.db.next_delivery_due()?;
        Ok(pass)
    }

    fn deliver(&self, claimed: Claimed) -> Result<Outcome, DbError> {
        let Claimed { delivery, endpoint } = claimed;
        let timestamp = self.clock.now();
        let request = signed_request(&endpoint.url, &endpoint.secret, &delivery, timestamp);
        let result = self.transport.send(request);
        // The attempt is when it was sent (and signed): its retry is counted from then.
        let at = timestamp;
        let (outcome, attempt) = match result {
            Ok(response) => (
                if response.is_success() {
                    Outcome::Delivered
                } else {
                    Outcome::Failed
                },
                Attempt {
                    at,
                    status: Some(response.status),
                    response: excerpt(&String::from_utf8_lossy(&response.body)),
                },
            ),
            Err(e) => (
                Outcome::Failed,
                Attempt {
                    at,
                    status: None,
                    response: excerpt(&e.to_string()),
                },
            ),
        };
        if outcome == Outcome::Failed {
            tracing::info!(
                delivery = delivery.id.0,
                endpoint = endpoint.id.0,
                status = attempt.status,
                "outbound webhook attempt failed"
            );
        }
        let after = self.db.record_delivery_attempt(
            delivery.id,
            outcome,
            attempt,
            (self.jitter)(delivery.id),
        )?;
        if after.disabled.is_some() && endpoint.disabled.is_none() {
            tracing::warn!(
                endpoint = endpoint.id.0,
                url = %endpoint.url,
                "outbound webhook endpoint disabled after failing for 3 days"
            );
        }
        Ok(outcome)
    }

    /// Runs passes on a thread of its own while `alive` can be upgraded (the server runs): after
    /// each, sleeps until the next due delivery, a new one (`db::ring_outbound`), or a minute.
    pub fn spawn(self, alive: Weak<()>) -> std::thread::JoinHandle<()> {
        let bell = super::worker::Bell {
            rings: crate::db::outbound_rings,
            wait: crate::db::wait_for_outbound,
        };
        let context = (self.db.clone(), self.clock.clone());
        super::worker::spawn(
            "avisa-outbound",
            "outbound webhook",
            alive,
            bell,
            context,
            move || self.run_once().map(|pass| pass.next_due),
        )
    }
}

/// The POST for one attempt: the stored body, its id and event, and the signature over
/// `timestamp.body`.
pub fn signed_request(url: &str, secret: &str, delivery: &Delivery, timestamp: i64) -> Request {
    Request::post(url, delivery.body.clone().into_bytes())
        .header("Content-Type", "application/json")
        .header("User-Agent", concat!("avisa/", env!("CARGO_PKG_VERSION")))
        .header(signature::ID_HEADER, Delivery::public_id(delivery.id))
        .header(signature::EVENT_HEADER, delivery.event.as_str())
        .header(signature::TIMESTAMP_HEADER, timestamp.to_string())
        .header(
            signature::SIGNATURE_HEADER,
            signature::header_value(secret, timestamp, delivery.body.as_bytes()),
        )
}

fn excerpt(text: &str) -> String {
    text.chars().take(MAX_RESPONSE_CHARS).collect()
}
