//! The WhatsApp library's storage over redb: how many `put_session` (each its own durable
//! transaction, as the library calls it on every ratchet step), `put_sessions_batch` (100
//! sessions in one transaction) and `get_session` calls per second one caller gets, on a fresh
//! data file, next to the library's in-memory backend as the baseline.
//!
//! Last line: `put_session_per_s=… batch100_per_s=… get_session_per_s=… memory_put_per_s=…`.
//! Run with `scripts/bench-wa-backend` (`BENCH_OPS` sets the number of single puts, default
//! 2,000).

use std::sync::Arc;
use std::time::Instant;

use avisa::channels::whatsapp::backend::backend;
use avisa::db::{Db, DbOptions};
use avisa::domain::InstanceId;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::store::InMemoryBackend;
use whatsapp_rust::wacore::store::traits::Backend;

/// About the size of a Signal session record with a few previous states.
const SESSION_BYTES: usize = 1_500;
const ADDRESSES: usize = 500;

fn main() {
    let ops: usize = std::env::var("BENCH_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Db::open(tmp.path(), &DbOptions::default()).expect("open"));
        let clock = Arc::new(avisa::domain::clock::ManualClock::at(1_763_478_000));
        let redb = backend(store, InstanceId(1), clock);
        let memory: Arc<dyn Backend> = Arc::new(InMemoryBackend::new());
        let addresses: Vec<String> = (0..ADDRESSES)
            .map(|i| format!("55119{i:08}:1@s.whatsapp.net"))
            .collect();
        let session = vec![0x5a; SESSION_BYTES];

        let put = puts_per_s(redb.as_ref(), &addresses, &session, ops).await;
        let memory_put = puts_per_s(memory.as_ref(), &addresses, &session, ops).await;

        let batches = 20;
        let batch: Vec<(Arc<str>, Bytes)> = addresses[..100]
            .iter()
            .map(|a| (Arc::from(a.as_str()), Bytes::from(session.clone())))
            .collect();
        let started = Instant::now();
        for _ in 0..batches {
            redb.put_sessions_batch(&batch).await.expect("batch");
        }
        let batch_per_s = batches as f64 / started.elapsed().as_secs_f64();

        let reads = ops * 5;
        let started = Instant::now();
        for i in 0..reads {
            let got = redb
                .get_session(&addresses[i % ADDRESSES])
                .await
                .expect("get");
            assert!(got.is_some(), "every address was written above");
        }
        let get = reads as f64 / started.elapsed().as_secs_f64();

        println!(
            "put_session_per_s={put:.0} batch100_per_s={batch_per_s:.0} get_session_per_s={get:.0} \
             memory_put_per_s={memory_put:.0}"
        );
    });
}

async fn puts_per_s(b: &dyn Backend, addresses: &[String], session: &[u8], ops: usize) -> f64 {
    let started = Instant::now();
    for i in 0..ops {
        b.put_session(&addresses[i % addresses.len()], session)
            .await
            .expect("put");
    }
    ops as f64 / started.elapsed().as_secs_f64()
}
