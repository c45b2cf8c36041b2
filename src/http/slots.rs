//! CPU-bound work a request needs (password hashing, template rendering) runs here: on tokio's
//! blocking pool, at most a few at once. An async worker that did it in place would hold up every
//! request queued behind it, webhooks included; waiting for a slot is asynchronous, so the worker
//! goes on answering others meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A bounded set of slots on the blocking pool.
pub struct Slots {
    permits: Arc<Semaphore>,
    at_once: u32,
    waiting: AtomicUsize,
}

impl Slots {
    pub fn new(at_once: usize) -> Slots {
        Slots {
            permits: Arc::new(Semaphore::new(at_once)),
            at_once: u32::try_from(at_once).expect("a small bound"),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Runs `work` on the blocking pool once a slot is free.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.expect("the slots' semaphore is never closed");
        match tokio::task::spawn_blocking(work).await {
            Ok(done) => done,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Jobs waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Takes every slot until the guard drops: the work pauses and requests wait for it. Tests
    /// use it to hold requests mid-way deterministically.
    pub async fn pause(&self) -> OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_many_owned(self.at_once)
            .await
            .expect("the slots' semaphore is never closed")
    }
}
