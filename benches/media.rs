//! What a boleto PDF adds to one send: a realistic 60 KB boleto (`benches/fixtures/boleto.pdf`:
//! text, barcode, a scanned stamp) served by a loopback file server, fetched through the media
//! policy, sniffed, hashed and stored (`queue::media::prepare`, the outbox's own step), then
//! encrypted as the WhatsApp library does and posted to a loopback stand-in of the media
//! endpoint. Compared in the same run with a text part's preparation.
//!
//! Last line: `text_prepare_us=… pdf_first_ms=… pdf_retry_us=… encrypt_ms=… upload_ms=…
//! upload_bytes=… file_growth_per_new_pdf_kb=… file_growth_per_same_pdf_kb=…`. Run with
//! `cargo bench --bench media` (`BENCH_SENDS`, default 200).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use avisa::db::{Db, DbOptions};
use avisa::domain::Message;
use avisa::net::{Client, Policy, Request, Targets};
use avisa::queue::media::{Prepared, prepare};
use whatsapp_rust::wacore::download::MediaType;
use whatsapp_rust::wacore::upload::encrypt_media;

const PDF: &[u8] = include_bytes!("fixtures/boleto.pdf");

/// A loopback HTTP server: GET `/boleto-N.pdf` answers the PDF with `%N` appended (a distinct
/// file per N), any POST is read whole and answered like WhatsApp's media endpoint.
fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            let _ = stream.read_exact(&mut body);
            let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
            let answer: Vec<u8> = if head.starts_with("POST") {
                br#"{"url":"https://mmg.example/d/f/x.enc","direct_path":"/v/t62/x.enc"}"#.to_vec()
            } else {
                let n = path.trim_start_matches("/boleto-").trim_end_matches(".pdf");
                let mut pdf = PDF.to_vec();
                pdf.extend_from_slice(format!("%{n}\n").as_bytes());
                pdf
            };
            let mut out = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.len()
            )
            .into_bytes();
            out.extend_from_slice(&answer);
            let _ = stream.write_all(&out);
        }
    });
    port
}

fn message(id: u64, text: &str) -> Message {
    serde_json::from_value(serde_json::json!({
        "id": id, "store_id": 1, "event_id": id, "kind": "boleto.generated", "step": 0,
        "part": 0, "order_id": null, "phone": "+5511987654321", "buyer_name": null,
        "product_key": "", "text": text, "due_at": 0, "status": "sending", "history": [],
        "test": false, "created_at": 0
    }))
    .expect("a message")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn file_kb(db: &Db) -> f64 {
    std::fs::metadata(db.path()).expect("data file").len() as f64 / 1024.0
}

fn main() {
    let sends: u64 = std::env::var("BENCH_SENDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let port = server();
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), &DbOptions::default()).expect("open");
    let policy = Policy {
        allow_http: true,
        targets: Targets::PublicOnly {
            allowed_hosts: vec!["banco.example".into()],
        },
        ..Policy::media()
    };
    let hosts = HashMap::from([(
        "banco.example".to_owned(),
        vec!["127.0.0.1".parse().expect("ip")],
    )]);
    let client = Client::with_hosts(policy, hosts);
    let url = |n: u64| format!("http://banco.example:{port}/boleto-{n}.pdf");

    let text =
        "Olá, Ana! Seu boleto de Curso no valor de R$ 197,00 foi gerado e vence em 25/11/2025.";
    let text_times: Vec<Duration> = (0..sends)
        .map(|i| {
            let m = message(1_000_000 + i, text);
            let started = Instant::now();
            let prepared = prepare(&db, &client, &m, 0).expect("prepared");
            assert!(matches!(prepared, Prepared::Text(_)));
            started.elapsed()
        })
        .collect();

    // A new boleto per send (each buyer's own PDF): fetch, sniff, hash, store.
    let before = file_kb(&db);
    let mut first = Vec::new();
    let mut retry = Vec::new();
    let mut sample = None;
    for i in 0..sends {
        let m = message(i + 1, &format!("#documento {}\nSeu boleto.", url(i)));
        let started = Instant::now();
        let prepared = prepare(&db, &client, &m, 0).expect("prepared");
        first.push(started.elapsed());
        let Prepared::Media(file) = prepared else {
            panic!("a PDF: {prepared:?}")
        };
        let started = Instant::now();
        prepare(&db, &client, &m, 0).expect("again");
        retry.push(started.elapsed());
        sample = Some(file);
    }
    let growth_new = (file_kb(&db) - before) / sends as f64;
    // The same boleto in later reminders: a record each, the file once.
    let before = file_kb(&db);
    for i in 0..sends {
        let m = message(10_000 + i, &format!("#documento {}\nLembrete.", url(0)));
        prepare(&db, &client, &m, 0).expect("prepared");
    }
    let growth_same = (file_kb(&db) - before) / sends as f64;

    // The WhatsApp side: encrypt as the library does, post the ciphertext to the stand-in.
    let file = sample.expect("at least one send");
    let admin = Client::new(Policy {
        max_body_bytes: 1 << 20,
        ..Policy::admin_configured()
    });
    let mut encrypt = Vec::new();
    let mut upload = Vec::new();
    let mut upload_bytes = 0;
    for _ in 0..sends.min(50) {
        let started = Instant::now();
        let enc = encrypt_media(&file.bytes, MediaType::Document).expect("encrypted");
        encrypt.push(started.elapsed());
        upload_bytes = enc.data_to_upload.len();
        let started = Instant::now();
        let response = admin
            .send(Request::post(
                format!("http://127.0.0.1:{port}/mms/document/token"),
                enc.data_to_upload,
            ))
            .expect("uploaded");
        assert!(response.is_success());
        upload.push(started.elapsed());
    }
    eprintln!(
        "pdf {} bytes, {} blobs stored, data file {:.0} KB",
        file.bytes.len(),
        db.media_blob_count().expect("count"),
        file_kb(&db)
    );
    println!(
        "text_prepare_us={:.1} pdf_first_ms={:.2} pdf_retry_us={:.0} encrypt_ms={:.2} upload_ms={:.2} upload_bytes={} file_growth_per_new_pdf_kb={:.1} file_growth_per_same_pdf_kb={:.2}",
        median(text_times).as_secs_f64() * 1e6,
        median(first).as_secs_f64() * 1e3,
        median(retry).as_secs_f64() * 1e6,
        median(encrypt).as_secs_f64() * 1e3,
        median(upload).as_secs_f64() * 1e3,
        upload_bytes,
        growth_new,
        growth_same,
    );
}
