//! The intake writer: one thread owns every ingestion write. Requests hand it their recognised
//! delivery through a bounded queue and wait for their own commit; the writer takes everything
//! that is waiting and writes it in one transaction (group commit), so concurrent webhooks share
//! one fsync instead of paying one each. A full queue is refused at once (the platform retries):
//! memory stays bounded under any load. Once nothing has come for `IDLE_BEFORE_MERGE`, the writer
//! moves the new dedup keys of the last burst to the merged index (`db::dedup`), a chunk at a
//! time, checking for new deliveries between chunks.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::db::{Db, DbError, Delivery, EncodedRaw, Recorded};

/// Why a delivery was not recorded. Nothing was acknowledged in any of these cases.
#[derive(Debug)]
pub enum IntakeError {
    /// The queue is full: answer 503 with Retry-After.
    Full,
    /// avisa is shutting down.
    Closed,
    /// The disk is full: nothing was written; answer 503 with Retry-After.
    DiskFull,
    /// The data file is being reopened after an I/O failure: answer 503 with Retry-After.
    Unavailable,
    /// The transaction failed.
    Db(String),
}

impl std::fmt::Display for IntakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntakeError::Full => f.write_str("the intake queue is full"),
            IntakeError::Closed => f.write_str("avisa is shutting down"),
            IntakeError::DiskFull => f.write_str("the disk is full"),
            IntakeError::Unavailable => f.write_str("the data file is being reopened"),
            IntakeError::Db(e) => write!(f, "storage: {e}"),
        }
    }
}

impl std::error::Error for IntakeError {}

struct Job {
    delivery: Delivery,
    raw: EncodedRaw,
    done: oneshot::Sender<Answer>,
}

/// The writer's answer, with the job's delivery and raw record handed back so the request's
/// worker frees them: they were allocated in its allocator arena, and freeing them on the writer
/// took that arena's lock and gave its pages back to the kernel on the serial path.
type Answer = (Result<Vec<Recorded>, IntakeError>, (Delivery, EncodedRaw));

/// The handle requests use to submit deliveries. Cheap to clone.
#[derive(Clone)]
pub struct Intake {
    jobs: SyncSender<Job>,
    /// Body bytes (in KiB) that may wait at once, so a burst of large bodies cannot grow memory.
    budget_kib: Arc<Semaphore>,
}

/// At most this many KiB of bodies wait for the writer at once (32 MiB).
const BUDGET_KIB: usize = 32 * 1024;

/// The writer moves dedup keys once nothing has come for this long: a burst is over.
const IDLE_BEFORE_MERGE: Duration = Duration::from_millis(200);

/// Dedup keys moved per transaction while idle (one fsync; a webhook arriving meanwhile waits
/// for one chunk at most).
const MERGE_CHUNK: usize = 2_048;

impl Intake {
    /// Starts the writer thread. `capacity` bounds the waiting deliveries; `max_batch` bounds one
    /// transaction.
    pub fn start(db: Db, capacity: usize, max_batch: usize) -> Intake {
        Intake::start_with_idle(db, capacity, max_batch, IDLE_BEFORE_MERGE)
    }

    fn start_with_idle(db: Db, capacity: usize, max_batch: usize, idle: Duration) -> Intake {
        let (jobs, queue) = sync_channel(capacity.max(1));
        std::thread::Builder::new()
            .name("avisa-intake".into())
            .spawn(move || write_loop(db, queue, max_batch.max(1), idle))
            .expect("the intake thread starts");
        Intake {
            jobs,
            budget_kib: Arc::new(Semaphore::new(BUDGET_KIB)),
        }
    }

    /// Reserves `bytes` of the budget before they are read, so a storm of large bodies is refused
    /// (503) from its first byte instead of after each body was buffered.
    pub fn reserve(&self, bytes: usize) -> Result<BodyPermit, IntakeError> {
        let kib = kib(bytes);
        let permit = self
            .budget_kib
            .clone()
            .try_acquire_many_owned(kib)
            .map_err(|_| IntakeError::Full)?;
        Ok(BodyPermit {
            permit,
            budget: self.budget_kib.clone(),
            kib,
        })
    }

    /// Records `delivery` durably; returns when its transaction has committed. `permit` holds the
    /// body's bytes against the budget until then.
    pub async fn submit(
        &self,
        delivery: Delivery,
        mut permit: BodyPermit,
    ) -> Result<Vec<Recorded>, IntakeError> {
        // Encoded here, on the request's worker: the one writer only copies the bytes. The
        // encoded copy is held against the budget too.
        let raw = EncodedRaw::of(&delivery.raw).map_err(|e| IntakeError::Db(e.to_string()))?;
        permit.grow_to(delivery.raw.body.len() + raw.len())?;
        let (done, result) = oneshot::channel();
        self.jobs
            .try_send(Job {
                delivery,
                raw,
                done,
            })
            .map_err(|e| match e {
                TrySendError::Full(_) => IntakeError::Full,
                TrySendError::Disconnected(_) => IntakeError::Closed,
            })?;
        let (recorded, spent) = result.await.map_err(|_| IntakeError::Closed)?;
        drop(spent);
        drop(permit);
        recorded
    }
}

/// Budget units: KiB, rounded up (an empty body still counts one).
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes / 1024 + 1).unwrap_or(u32::MAX)
}

/// Body bytes held against the intake budget, from the first byte read until the commit.
pub struct BodyPermit {
    permit: OwnedSemaphorePermit,
    budget: Arc<Semaphore>,
    kib: u32,
}

impl BodyPermit {
    /// Holds `bytes` in all: a body longer than announced asks for the rest, refused when the
    /// budget has no room.
    pub fn grow_to(&mut self, bytes: usize) -> Result<(), IntakeError> {
        let wanted = kib(bytes);
        if wanted > self.kib {
            let more = self
                .budget
                .clone()
                .try_acquire_many_owned(wanted - self.kib)
                .map_err(|_| IntakeError::Full)?;
            self.permit.merge(more);
            self.kib = wanted;
        }
        Ok(())
    }
}

fn write_loop(db: Db, queue: Receiver<Job>, max_batch: usize, idle: Duration) {
    crate::cli::allocator::own_arena();
    // Dedup keys waiting in the log, and whether the last pass moved some: then the next chunk
    // goes as soon as the queue is found empty.
    let mut backlog = db.dedup_backlog().unwrap_or(0);
    let mut merging = false;
    loop {
        let next = if backlog == 0 {
            queue.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else if merging {
            queue.recv_timeout(Duration::ZERO)
        } else {
            queue.recv_timeout(idle)
        };
        let first = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                match db.merge_dedup_log(MERGE_CHUNK) {
                    Ok(moved) => {
                        backlog = if moved == 0 {
                            0
                        } else {
                            db.dedup_backlog().unwrap_or(0)
                        };
                        merging = backlog > 0;
                    }
                    Err(e) => {
                        // Tried again after the next commit: the keys stay in the log meanwhile.
                        // A closed file (avisa stopping) or a full disk is reported elsewhere.
                        if matches!(e, DbError::Unavailable | DbError::DiskFull) {
                            tracing::debug!(error = %e, "moving dedup keys put off");
                        } else {
                            tracing::warn!(error = %e, "moving dedup keys failed");
                        }
                        db.note_failure(&e);
                        backlog = 0;
                        merging = false;
                    }
                }
                continue;
            }
        };
        merging = false;
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut deliveries = Vec::with_capacity(jobs.len());
        let mut raws = Vec::with_capacity(jobs.len());
        let mut waiters = Vec::with_capacity(jobs.len());
        for job in jobs {
            deliveries.push(job.delivery);
            raws.push(job.raw);
            waiters.push(job.done);
        }
        let outcome = db.record_encoded_deliveries(&deliveries, &raws);
        let spent = deliveries.into_iter().zip(raws);
        match outcome {
            Ok(results) => {
                for ((waiter, recorded), spent) in waiters.into_iter().zip(results).zip(spent) {
                    // A caller that went away (client disconnected) still had its event stored.
                    let _ = waiter.send((Ok(recorded), spent));
                }
                // After the answers: they wait for nothing but the commit.
                backlog = db.dedup_backlog().unwrap_or(0);
            }
            Err(e) => {
                // A full disk is logged once, by the storage layer, which also reopens a file
                // redb latched after the failed write.
                if !matches!(e, DbError::DiskFull | DbError::Unavailable) {
                    tracing::error!(error = %e, batch = waiters.len(), "intake transaction failed");
                }
                db.note_failure(&e);
                for (waiter, spent) in waiters.into_iter().zip(spent) {
                    let error = match &e {
                        DbError::DiskFull => IntakeError::DiskFull,
                        DbError::Unavailable => IntakeError::Unavailable,
                        other => IntakeError::Db(other.to_string()),
                    };
                    let _ = waiter.send((Err(error), spent));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DbOptions, RawDelivery};
    use crate::domain::StoreId;

    fn delivery(body_len: usize) -> Delivery {
        Delivery {
            store_id: StoreId(1),
            received_at: 0,
            raw: RawDelivery {
                body: vec![b'x'; body_len],
                ..RawDelivery::default()
            },
            readings: vec![crate::ingest::Reading::invalid(
                crate::ingest::ReasonCode::BadJson,
                "test",
            )],
        }
    }

    #[tokio::test]
    async fn a_delivery_is_answered_after_its_commit() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
        let intake = Intake::start(db.clone(), 8, 8);
        let permit = intake.reserve(10).expect("room");
        let recorded = intake.submit(delivery(10), permit).await.expect("recorded");
        let [Recorded::New(id)] = recorded[..] else {
            panic!("one new event: {recorded:?}")
        };
        assert_eq!(db.event(id).expect("stored").1.body.len(), 10);
    }

    #[tokio::test]
    async fn an_idle_writer_moves_the_bursts_dedup_keys_out_of_the_log() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
        let intake = Intake::start_with_idle(db.clone(), 8, 8, Duration::ZERO);
        for n in 0..3 {
            let body = format!(r#"{{"kind":"order.paid","event_id":"e{n}","order_id":"O{n}"}}"#);
            let readings = crate::ingest::recognise(
                crate::domain::Platform::Api,
                &crate::ingest::Request::new(body.as_bytes(), &[], ""),
            );
            let delivery = Delivery {
                readings,
                ..delivery(0)
            };
            let permit = intake.reserve(body.len()).expect("room");
            let recorded = intake.submit(delivery, permit).await.expect("recorded");
            assert!(matches!(recorded[..], [Recorded::New(_)]), "{recorded:?}");
        }
        // The writer finds its queue empty and merges; the test waits on the merge bell.
        for _ in 0..20 {
            let seen = crate::db::dedup_merge_rings();
            if db.dedup_backlog().expect("backlog") == 0 {
                break;
            }
            tokio::task::spawn_blocking(move || {
                crate::db::wait_for_dedup_merge(seen, Duration::from_secs(5));
            })
            .await
            .expect("wait");
        }
        assert_eq!(db.dedup_backlog().expect("backlog"), 0);
    }

    #[tokio::test]
    async fn more_waiting_bytes_than_the_budget_are_refused_at_once() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
        let intake = Intake::start(db, 8, 8);
        assert!(matches!(
            intake.reserve((BUDGET_KIB + 1) * 1024),
            Err(IntakeError::Full)
        ));
        // Bytes are held from the reservation on, before any body is complete.
        let _held = intake.reserve((BUDGET_KIB - 10) * 1024).expect("room");
        let mut growing = intake.reserve(1024).expect("room for a small start");
        assert!(matches!(growing.grow_to(64 * 1024), Err(IntakeError::Full)));
    }
}
