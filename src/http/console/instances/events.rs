//! `GET /instancias/{id}/eventos`: an instance's live state as server-sent events. The current
//! state goes out at once, then every change; a comment every 15 s keeps proxies from cutting an
//! idle stream. A small task per open page follows the channel's watch and feeds the response
//! body through a bounded queue; it ends when the page goes away.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use tokio::sync::{mpsc, watch};

use crate::channels::Channels;
use crate::domain::InstanceId;
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;
use crate::http::operations::instances::state_json;
use crate::queue::channel::ChannelState;

/// How often an idle stream gets a comment line.
const PING: Duration = Duration::from_secs(15);

/// `GET /instancias/{id}/eventos`: 404 for an unknown instance (a stream is never opened for it).
pub async fn stream_instance_events(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.run(move |db| db.instance(id)).await?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(follow(state.channels.clone(), id, viewer.is_admin(), tx));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        // nginx would otherwise hold events back in its buffer.
        .insert_header(("X-Accel-Buffering", "no"))
        .body(EventBody { rx }))
}

/// One `data:` event with the state as JSON.
fn event(state: &ChannelState, show_qr: bool) -> Bytes {
    Bytes::from(format!("data: {}\n\n", state_json(state, show_qr)))
}

/// The next change of the watched state: `Some(true)` changed, `Some(false)` the channel went
/// away; never resolves while there is no channel.
async fn changed(watch: &mut Option<watch::Receiver<ChannelState>>) -> bool {
    match watch {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Feeds one open page until it goes away.
async fn follow(channels: Arc<Channels>, id: InstanceId, show_qr: bool, tx: mpsc::Sender<Bytes>) {
    let mut watch = channels.subscribe(id);
    let first = match watch.as_mut() {
        Some(rx) => rx.borrow_and_update().clone(),
        None => ChannelState::Disconnected,
    };
    if tx.send(event(&first, show_qr)).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING, PING);
    loop {
        let next = tokio::select! {
            _ = tx.closed() => return,
            alive = changed(&mut watch) => match (alive, watch.as_mut()) {
                (true, Some(rx)) => event(&rx.borrow_and_update().clone(), show_qr),
                _ => {
                    // The channel was removed (mode changed, instance deleted).
                    watch = None;
                    event(&ChannelState::Disconnected, show_qr)
                }
            },
            _ = ping.tick() => {
                // A channel may have appeared since (switched to sandbox, a WhatsApp session).
                let appeared = if watch.is_none() { channels.subscribe(id) } else { None };
                match appeared {
                    Some(mut rx) => {
                        let now = rx.borrow_and_update().clone();
                        watch = Some(rx);
                        event(&now, show_qr)
                    }
                    None => Bytes::from_static(b": ping\n\n"),
                }
            }
        };
        if tx.send(next).await.is_err() {
            return;
        }
    }
}

/// The response body: whatever `follow` queued, for as long as the client stays.
struct EventBody {
    rx: mpsc::Receiver<Bytes>,
}

impl MessageBody for EventBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.get_mut().rx.poll_recv(cx).map(|next| next.map(Ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::fake::FakeChannel;

    async fn next(rx: &mut mpsc::Receiver<Bytes>) -> String {
        let bytes = rx.recv().await.expect("an event");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn follows_changes_hides_the_qr_and_reports_a_removed_channel() {
        let channels = Arc::new(Channels::default());
        let fake = Arc::new(FakeChannel::connected("5511999990000"));
        channels.insert(InstanceId(7), fake.clone());
        let (tx, mut rx) = mpsc::channel(8);
        let task = tokio::spawn(follow(channels.clone(), InstanceId(7), false, tx));

        assert!(next(&mut rx).await.contains(r#""state":"connected""#));
        fake.set_state(ChannelState::WaitingForQr {
            qr: "2@pairing".into(),
            expires_at: 60,
        });
        let qr = next(&mut rx).await;
        assert!(qr.starts_with("data: ") && qr.ends_with("\n\n"), "{qr:?}");
        assert!(qr.contains("waiting_for_qr") && !qr.contains("2@pairing"));

        channels.remove(InstanceId(7));
        drop(fake);
        assert!(next(&mut rx).await.contains(r#""state":"disconnected""#));

        // The page went away: the task ends.
        drop(rx);
        task.await.expect("the task ends when the page goes away");
    }
}
