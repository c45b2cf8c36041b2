//! Helpers for `scripts/measure-restart` (restart-to-ready after SIGKILL, and what compaction
//! gives back), run on a data directory the script owns:
//!
//! - `fill DIR MB`: one Hotmart store (webhook token `restart-bench-…`, printed) and Hotmart
//!   deliveries (the 5.6 KB boleto fixture, each its own transaction) through the real intake
//!   path, 500 per transaction, until the data file reaches MB megabytes (`PAD_KB` pads each
//!   body by that many KB).
//! - `compact DIR`: retention deletes every raw body (as a retention limit would, months later),
//!   then the file is compacted; prints the bytes per stored event before and after.
//!
//! Not a timing benchmark by itself: the script times the server. Last line of each mode:
//! `key=value …`.

use std::path::Path;
use std::time::Instant;

use avisa::db::{Db, DbOptions, Delivery, RawDelivery};
use avisa::domain::{Clock, NewStore, Platform, SystemClock};
use avisa::ingest::{Request, recognise};

const FIXTURE: &str = "tests/fixtures/hotmart/purchase-billet-printed-boleto.json";
pub const TOKEN: &str = "restart-bench-0123456789abcdef0123";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["fill", dir, mb, ..] => fill(Path::new(dir), mb.parse().expect("MB")),
        ["compact", dir, ..] => compact(Path::new(dir)),
        _ => eprintln!(
            "usage: restart fill DIR MB | restart compact DIR (see scripts/measure-restart)"
        ),
    }
}

fn fill(dir: &Path, mb: u64) {
    let db = Db::open(dir, &DbOptions::default()).expect("open");
    let store = match db.store_by_token(TOKEN).expect("token") {
        Some(store) => store.id,
        None => {
            db.create_store(NewStore {
                name: "Loja".into(),
                slug: "loja".into(),
                platform: Platform::Hotmart,
                enabled: true,
                secret: None,
                webhook_token: TOKEN.into(),
                created_at: 0,
            })
            .expect("store")
            .id
        }
    };
    let template: serde_json::Value =
        serde_json::from_slice(&std::fs::read(FIXTURE).expect("fixture")).expect("json");
    let pad_kb: usize = std::env::var("PAD_KB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let started = Instant::now();
    let now = SystemClock.now();
    let mut n: u64 = 0;
    while db.file_bytes().expect("size") < mb * 1024 * 1024 {
        let batch: Vec<Delivery> = (0..500)
            .map(|_| {
                n += 1;
                let mut body = template.clone();
                body["id"] = format!("fill-{n}").into();
                body["data"]["purchase"]["transaction"] = format!("HP{n:012}").into();
                body["data"]["buyer"]["checkout_phone"] =
                    format!("119{:08}", n % 100_000_000).into();
                if pad_kb > 0 {
                    body["data"]["product"]["padding"] =
                        format!("{n:08}").repeat(pad_kb * 128).into();
                }
                let bytes = serde_json::to_vec(&body).expect("json");
                let readings = recognise(Platform::Hotmart, &Request::new(&bytes, &[], ""));
                Delivery {
                    store_id: store,
                    received_at: now,
                    raw: RawDelivery {
                        body: bytes,
                        ..RawDelivery::default()
                    },
                    readings,
                }
            })
            .collect();
        db.record_deliveries(&batch).expect("record");
    }
    let bytes = db.file_bytes().expect("size");
    db.close().expect("close");
    println!(
        "filled events={n} file_mb={:.0} bytes_per_event={} fill_s={:.0}",
        bytes as f64 / 1048576.0,
        bytes / n.max(1),
        started.elapsed().as_secs_f64()
    );
}

fn compact(dir: &Path) {
    let db = Db::open(dir, &DbOptions::default()).expect("open");
    let events = db
        .store_by_token(TOKEN)
        .expect("token")
        .expect("the fill's store")
        .event_count;
    let before = db.file_bytes().expect("size");
    let started = Instant::now();
    let purged = db
        .purge_raw_bodies_before(SystemClock.now() + 1)
        .expect("retention");
    let purge_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let compacted = db.compact().expect("compact");
    let compact_s = started.elapsed().as_secs_f64();
    db.close().expect("close");
    println!(
        "compacted events={events} raw_bodies_deleted={purged} bytes_per_event_before={} \
         bytes_per_event_after={} file_mb_before={:.0} file_mb_after={:.0} purge_s={purge_s:.1} \
         compact_s={compact_s:.1}",
        before / events.max(1),
        compacted.bytes_after / events.max(1),
        before as f64 / 1048576.0,
        compacted.bytes_after as f64 / 1048576.0,
    );
}
