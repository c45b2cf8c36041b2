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
use actix_web::http::header::HeaderValue;
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
    /// Connections each of the two HTTP workers serves at once; further ones wait in the
    /// kernel's accept queue until one ends. Bounds memory: actix reads up to 128 KiB ahead on
    /// each connection, so 1,000 connections sending large bodies at once peaked at 178–189 MB
    /// with 1,024 per worker and at 123 MB with 256 (`scripts/measure-memory`).
    pub connections_per_worker: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_deadline: Duration::from_secs(20),
            connections_per_peer: 64,
            exempt_loopback: true,
            connections_per_worker: 256,
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
    let mut req = req;
    own_header_values(&mut req);
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

/// Gives the request's header values their own bytes when its body is large.
///
/// actix parses header values as slices of the connection's read buffer, and each worker keeps
/// up to 128 finished requests (head included) in a pool for reuse. The read buffer of a
/// connection that sent a large body grows to 128–256 KiB before the head is parsed, so a
/// pooled request kept that whole buffer alive after its connection closed: a storm of 1 MiB
/// webhooks left 41 MB pinned that way until 256 newer requests came (heaptrack, docs/BENCHMARKS.md).
/// Copying the few values frees the buffer with the connection. Small requests (whose buffer
/// stays at 8–16 KiB) keep actix's zero-copy path.
fn own_header_values(req: &mut ServiceRequest) {
    use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    let headers = req.headers();
    let large = headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|n| n > OWN_HEADERS_ABOVE);
    if !large {
        return;
    }
    let shared = std::mem::take(req.headers_mut());
    let owned = req.headers_mut();
    for (name, value) in shared {
        // A value that was valid stays valid: from_bytes accepts every byte the parser did.
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            owned.append(name, value);
        }
    }
}

/// Bodies up to this size arrive in actix's first 8 KiB read buffer (with one growth at most);
/// a chunked body counts as large.
const OWN_HEADERS_ABOVE: usize = 4 * 1024;

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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    /// The bytes a header value lives in.
    fn address(req: &ServiceRequest, name: &str) -> usize {
        req.headers().get(name).expect("header").as_bytes().as_ptr() as usize
    }

    #[test]
    fn a_large_body_s_header_values_stop_sharing_the_connection_s_buffer() {
        let shared = Bytes::from_static(b"application/json; charset=utf-8");
        let value = HeaderValue::from_maybe_shared(shared.clone()).expect("value");
        let mut req = TestRequest::post()
            .insert_header(("content-type", value))
            .insert_header(("content-length", "1048576"))
            .append_header(("x-forwarded-for", "203.0.113.7"))
            .append_header(("x-forwarded-for", "198.51.100.9"))
            .to_srv_request();
        assert_eq!(address(&req, "content-type"), shared.as_ptr() as usize);
        own_header_values(&mut req);
        assert_ne!(address(&req, "content-type"), shared.as_ptr() as usize);
        assert_eq!(
            req.headers().get("content-type").expect("kept"),
            "application/json; charset=utf-8"
        );
        let forwarded: Vec<_> = req.headers().get_all("x-forwarded-for").collect();
        assert_eq!(
            forwarded,
            ["203.0.113.7", "198.51.100.9"],
            "every value kept, in order"
        );
    }

    #[test]
    fn a_small_body_keeps_actix_s_zero_copy_headers() {
        let shared = Bytes::from_static(b"application/json");
        let value = HeaderValue::from_maybe_shared(shared.clone()).expect("value");
        let mut req = TestRequest::post()
            .insert_header(("content-type", value))
            .insert_header(("content-length", "512"))
            .to_srv_request();
        own_header_values(&mut req);
        assert_eq!(address(&req, "content-type"), shared.as_ptr() as usize);
    }
}
