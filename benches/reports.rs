//! Relatórios at scale: `BENCH_MESSAGES` messages (default 1,000,000) planned through the real
//! intake path over 90 days (received times spread back from now, five stores, mixed kinds),
//! `BENCH_SENDS` of them (default 20,000) sent through claim + record_attempt so the buyer
//! frequency has rows, then the page's queries timed: the report rows of today, 7, 30 and 90
//! days (unfiltered and per store) and the buyer frequency of 7 and 30 days.
//!
//! Last line: `reports_p99_ms=… messages=… rows_90d=…`. Run with `scripts/bench-reports`.

use std::time::Instant;

use avisa::db::{AttemptOutcome, Db, DbOptions, Delivery, RawDelivery, ReportFilter};

use avisa::domain::Platform;
use avisa::domain::report::Period;
use avisa::domain::{Clock, NewStore, StoreId, SystemClock};
use avisa::ingest::{Request, recognise};

const STORES: u64 = 5;
const DAYS: i64 = 90;
const RUNS: usize = 50;

fn main() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let total = env("BENCH_MESSAGES", 1_000_000);
    let sends = env("BENCH_SENDS", 20_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&tmp.path().join("data"), &DbOptions::default()).expect("open");
    let now = SystemClock.now();
    let started = Instant::now();
    let planned = fill(&db, total, now);
    eprintln!(
        "planned {planned} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut sent = 0;
    for m in db.due_messages(now, sends as usize).expect("due") {
        let at = m.due_at.max(m.created_at);
        if db
            .claim_message(m.id, None, at + 60, at)
            .expect("claim")
            .is_some()
        {
            db.record_attempt(
                m.id,
                at + 60,
                AttemptOutcome::Sent {
                    at,
                    sandbox: false,
                    next_slot: at,
                    note: None,
                },
                at,
            )
            .expect("sent");
            sent += 1;
        }
    }
    eprintln!("sent {sent} in {:.1} s", started.elapsed().as_secs_f64());

    let filter = |days: u32, store_id: Option<StoreId>| {
        let p = Period::last_days(now, days);
        ReportFilter {
            first_day: p.first,
            last_day: p.last,
            store_id,
            instance_id: None,
            kind: None,
            include_test: false,
        }
    };
    let mut latencies = Vec::new();
    let mut rows_90d = 0;
    for _ in 0..RUNS {
        for days in [1, 7, 30, 90] {
            for store_id in [None, Some(StoreId(1))] {
                let t = Instant::now();
                let rows = db.report_rows(&filter(days, store_id)).expect("rows");
                let _ = (rows.totals(), rows.by_day(), rows.by_template());
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if days == 90 && store_id.is_none() {
                    rows_90d = rows.rows.len();
                }
            }
        }
        for days in [7, 30] {
            let t = Instant::now();
            db.buyer_frequency(&filter(days, None), 10)
                .expect("frequency");
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    eprintln!(
        "queries: {} timed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "reports_p99_ms={:.2} messages={planned} rows_90d={rows_90d}",
        pct(0.99)
    );
}

/// Deliveries spread evenly back over 90 days, in batches of 1,000 per transaction: paid
/// orders (one message), PIX (two) and carts (two), so rows vary by kind and step.
fn fill(db: &Db, total: u64, now: i64) -> u64 {
    let mut stores = Vec::new();
    for i in 0..STORES {
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
        stores.push(store.id);
    }
    db.save_message_settings(&avisa::domain::MessageSettings {
        quiet_hours: avisa::domain::planning::QuietHours {
            start_min: 0,
            end_min: 0,
        },
        buyer_cap: 50,
        ..Default::default()
    })
    .expect("settings");
    let kinds = ["order.paid", "pix.generated", "checkout.abandoned"];
    // The default templates plan two messages per event on average over these three kinds
    // (400,001 events planned 800,002 messages), so half as many events as messages.
    let events = total / 2 + 1;
    let step = (DAYS * 86_400) / events as i64;
    let mut n = 0u64;
    while n < events {
        let mut batch = Vec::with_capacity(1000);
        for _ in 0..1000.min(events - n) {
            let body = format!(
                r#"{{"kind":"{}","event_id":"b{n}","order_id":"O{n}","customer":{{"name":"Ana","phone":"+55119{:08}"}},"products":[{{"name":"Curso"}}],"payment":{{"pix_code":"000201PIX"}}}}"#,
                kinds[(n % 3) as usize],
                n % 300_000
            );
            let readings = recognise(Platform::Api, &Request::new(body.as_bytes(), &[], ""));
            batch.push(Delivery {
                store_id: stores[(n % STORES) as usize],
                received_at: now - DAYS * 86_400 + n as i64 * step,
                raw: RawDelivery::default(),
                readings,
            });
            n += 1;
        }
        db.record_deliveries(&batch).expect("recorded");
    }
    db.list_messages(&avisa::db::MessageFilter {
        limit: 1,
        ..Default::default()
    })
    .expect("list")
    .first()
    .map_or(0, |m| m.id.0)
}
