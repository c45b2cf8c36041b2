//! Slow and greedy clients: every request body must arrive within a deadline (a client that
//! trickles bytes cannot hold a connection for ever), and one peer may hold only so many
//! connections at once (beyond it, its requests get 503 and the connection is closed). Anonymous
//! callers cannot take webhook intake down by opening connections and sending nothing.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_core::Stream;

use super::error::ApiError;

/// How long clients may take and how many connections one peer may hold.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The whole body must arrive within this time after the request's head (408 otherwise).
    pub body_deadline: Duration,
    /// Connections one peer address may hold at once.
    pub connections_per_peer: usize,
    /// A reverse proxy on the same machine (Caddy, nginx) is every client's peer: loopback peers
    /// are not counted unless this is off.
    pub exempt_loopback: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_deadline: Duration::from_secs(20),
            connections_per_peer: 64,
            exempt_loopback: true,
        }
    }
}

/// Open connections by peer address, shared by every worker.
#[derive(Clone, Default)]
pub struct Peers {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place in the count; released when the connection ends.
struct PeerSlot {
    ip: IpAddr,
    peers: Peers,
    over_limit: bool,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.peers.open.lock().expect("peer counts");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl Peers {
    /// `HttpServer::on_connect`: counts the new connection against its peer.
    pub fn on_connect(&self, limits: &Limits, connection: &dyn Any, data: &mut Extensions) {
        let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(peer) = stream.peer_addr() else {
            return;
        };
        let ip = peer.ip();
        if limits.exempt_loopback && ip.is_loopback() {
            return;
        }
        let count = {
            let mut open = self.open.lock().expect("peer counts");
            let n = open.entry(ip).or_default();
            *n += 1;
            *n
        };
        data.insert(PeerSlot {
            ip,
            peers: self.clone(),
            over_limit: count > limits.connections_per_peer,
        });
    }
}

/// Middleware: refuses a peer over its connection limit, and puts the body deadline on the
/// request's payload (every extractor and the webhook's own reader see it).
pub async fn bound_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let over_limit = req
        .conn_data::<PeerSlot>()
        .is_some_and(|slot| slot.over_limit);
    if over_limit {
        let mut response = ApiError::Busy.error_response();
        response
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
        return Ok(req.into_response(response).map_into_right_body());
    }
    let deadline = req
        .app_data::<actix_web::web::Data<super::AppState>>()
        .map(|state| state.limits.body_deadline)
        .unwrap_or_else(|| Limits::default().body_deadline);
    let (http_req, payload) = req.into_parts();
    let bounded: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Deadline {
        inner: payload,
        timer: Box::pin(tokio::time::sleep(deadline)),
    });
    let payload = Payload::Stream { payload: bounded };
    let req = ServiceRequest::from_parts(http_req, payload);
    Ok(next.call(req).await?.map_into_left_body())
}

/// A payload that fails with `TimedOut` once its deadline passes before its end.
struct Deadline {
    inner: Payload,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Whether a payload error is the body deadline (answered 408, not 400).
pub fn timed_out(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}
