//! Outbox at scale: 1,000,000 scheduled messages across 100 instances (planned through the
//! real intake path), then, in a fresh process over the same file (a restart), the time until
//! the outbox is ready (data file open, instances registered, leases recovered), the latency of
//! claiming the next due message (one range read for the earliest due, one claim transaction),
//! and the process's peak RSS.
//!
//! Last line: `claim_p99_ms=… ready_s=… rss_mb=… queued=…`. Run with `scripts/bench-outbox`
//! (`BENCH_MESSAGES` sets the size, default 1,000,000).

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use avisa::db::{Db, DbOptions, Delivery, RawDelivery};

use avisa::channels::Channels;
use avisa::domain::{Clock, Platform, SystemClock};
use avisa::domain::{Instance, InstanceMode, NewStore};
use avisa::ingest::{Request, recognise};
use avisa::queue::outbox::{LEASE_S, Outbox};

const INSTANCES: u64 = 100;
const CLAIMS: usize = 2000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let (Some("--restart"), Some(dir)) = (args.get(1).map(String::as_str), args.get(2)) {
        restart(std::path::Path::new(dir));
        return;
    }
    let total: u64 = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let started = Instant::now();
    fill(&dir, total);
    eprintln!(
        "filled {total} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let output = Command::new(std::env::current_exe().expect("own path"))
        .arg("--restart")
        .arg(&dir)
        .output()
        .expect("restart child runs");
    let text = String::from_utf8_lossy(&output.stdout);
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    print!("{text}");
}

/// Stores linked to instances, then `total` `order.paid` deliveries (one message each), due now,
/// through the intake path in batches of 1,000 deliveries per transaction.
fn fill(dir: &std::path::Path, total: u64) {
    let db = Db::open(dir, &DbOptions::default()).expect("open");
    let mut stores = Vec::new();
    for i in 0..INSTANCES {
        let mut instance = Instance::new(&format!("Instância {i}"), InstanceMode::Sandbox, 0);
        instance.quiet_hours = avisa::domain::planning::QuietHours {
            start_min: 0,
            end_min: 0,
        };
        let instance = db.create_instance(instance).expect("instance");
        let store = db
            .create_store(NewStore {
                name: format!("Loja {i}"),
                slug: format!("loja-{i}"),
                platform: Platform::Api,
                enabled: true,
                secret: None,
                webhook_token: format!("bench-{i:032}"),
                created_at: 0,
            })
            .expect("store");
        db.update_store(store.id, |s| s.instance_id = Some(instance.id))
            .expect("link");
        stores.push(store.id);
    }
    let quiet_off = avisa::domain::planning::QuietHours {
        start_min: 0,
        end_min: 0,
    };
    db.save_message_settings(&avisa::domain::MessageSettings {
        quiet_hours: quiet_off,
        ..Default::default()
    })
    .expect("settings");
    let now = SystemClock.now();
    let mut n = 0u64;
    while n < total {
        let mut batch = Vec::with_capacity(1000);
        for _ in 0..1000.min(total - n) {
            let body = format!(
                r#"{{"kind":"order.paid","event_id":"b{n}","order_id":"O{n}","customer":{{"name":"Ana","phone":"+55119{:08}"}},"products":[{{"name":"Curso"}}]}}"#,
                n % 100_000_000
            );
            let readings = recognise(Platform::Api, &Request::new(body.as_bytes(), &[], ""));
            batch.push(Delivery {
                store_id: stores[(n % INSTANCES) as usize],
                received_at: now - 60,
                raw: RawDelivery {
                    body: body.into_bytes(),
                    ..RawDelivery::default()
                },
                readings,
            });
            n += 1;
        }
        db.record_deliveries(&batch).expect("recorded");
    }
}

fn restart(dir: &std::path::Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let started = Instant::now();
        let db = Db::open(dir, &DbOptions::default()).expect("reopen");
        let channels = Arc::new(Channels::default());
        for instance in db.list_instances().expect("instances") {
            channels.ensure(&instance);
        }
        let outbox = Outbox::new(
            db.clone(),
            channels,
            Arc::new(SystemClock),
            Arc::new(|| 0.5),
        );
        outbox.recover().await.expect("recover");
        let ready_s = started.elapsed().as_secs_f64();

        let now = SystemClock.now();
        let mut latencies = Vec::with_capacity(CLAIMS);
        for _ in 0..CLAIMS {
            let t = Instant::now();
            let next = db
                .due_messages(now, 1)
                .expect("due")
                .into_iter()
                .next()
                .expect("a due message");
            let instance = db.store(next.store_id).expect("store").instance_id;
            db.claim_message(next.id, instance, now + LEASE_S, now)
                .expect("claim")
                .expect("claimed");
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        latencies.sort_by(f64::total_cmp);
        let p50 = latencies[latencies.len() / 2];
        let p99 = latencies[(latencies.len() * 99) / 100];
        let queued = db.outbox_len().expect("outbox length");
        let rss = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(f64::NAN, |kb| kb / 1024.0);
        eprintln!("claims: {CLAIMS}, p50 {p50:.3} ms");
        println!("claim_p99_ms={p99:.3} ready_s={ready_s:.3} rss_mb={rss:.1} queued={queued}");
    });
}
