//! Durable webhook ingest over loopback, against a baseline actix-web endpoint that only reads
//! the body, in the same run. Both servers run as child processes of this binary (so RSS is the
//! server's alone); the load is 64 concurrent keep-alive connections posting a real Hotmart
//! fixture whose delivery id changes per request (every request is a new durable event).
//!
//! Last line: `events_per_s=… p50_ms=… p99_ms=… baseline_ratio=… rss_mb=…`.
//! Run with `scripts/bench-ingest` (or `cargo bench --bench ingest`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 64;
const FIXTURE: &str = "tests/fixtures/hotmart/purchase-billet-printed-boleto.json";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve-avisa") => serve_avisa(),
        Some("--serve-baseline") => serve_baseline(),
        _ => drive(),
    }
}

/// Child mode: a real avisa with a fresh data directory and one Hotmart store; prints
/// `READY <url> <webhook path>`.
fn serve_avisa() {
    avisa::cli::allocator::tune();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("data dir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let config = avisa::app::ServeConfig {
            limits: Default::default(),
            data_dir: dir.path().join("data"),
            public_url: Some(url.clone()),
            cache_bytes: 32 * 1024 * 1024,
            trusted_proxies: Default::default(),
            whatsapp: Default::default(),
            platform_api_stand_in: None,
        };
        let running = avisa::app::start(&config, listener, Arc::new(avisa::domain::SystemClock))
            .expect("avisa starts");
        let store = running
            .db
            .create_store(avisa::domain::NewStore {
                name: "Bench".into(),
                slug: "bench".into(),
                platform: avisa::domain::Platform::Hotmart,
                enabled: true,
                secret: None,
                webhook_token: "b".repeat(32),
                created_at: 0,
            })
            .expect("store");
        println!("READY {url} /webhook/{}/bench", store.webhook_token);
        running.server.await.expect("server");
        drop(dir);
    });
}

/// Child mode: the baseline, an actix-web endpoint that reads the body and answers 202.
fn serve_baseline() {
    avisa::cli::allocator::tune();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = actix_web::HttpServer::new(|| {
            actix_web::App::new()
                .app_data(actix_web::web::PayloadConfig::new(1 << 20))
                .route(
                    "/webhook/{token}/{tail}",
                    actix_web::web::post().to(|body: actix_web::web::Bytes| async move {
                        actix_web::HttpResponse::Accepted()
                            .body(format!("{{\"len\":{}}}", body.len()))
                    }),
                )
        })
        .workers(2)
        .listen(listener)
        .expect("listen")
        .run();
        println!("READY {url} /webhook/baseline/bench");
        server.await.expect("server");
    });
}

struct Server {
    child: Child,
    target: String,
}

impl Server {
    fn start(mode: &str) -> Server {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .arg(mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("child starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let mut parts = line.split_whitespace().skip(1);
        let target = format!(
            "{}{}",
            parts.next().expect("url"),
            parts.next().expect("path")
        );
        Server { child, target }
    }

    /// Peak resident memory of the server process, in MB.
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Run {
    requests: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }
}

/// Posts for `duration` over `CONNECTIONS` keep-alive connections; every body gets its own
/// delivery id so each request is a new event.
async fn load(target: &str, template: &str, duration: Duration, first_id: usize) -> Run {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .expect("client");
        let target = target.to_owned();
        let template = template.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0usize;
            while started.elapsed() < duration {
                let id = format!("bench-{first_id}-{c}-{n}");
                let body = template.replace("\"id\": \"", &format!("\"id\": \"{id}-"));
                let sent = Instant::now();
                let response = client
                    .post(&target)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                assert_eq!(status, 202, "every delivery is a new accepted event");
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                n += 1;
            }
            latencies
        }));
    }
    let mut latencies_ms = Vec::new();
    for task in tasks {
        latencies_ms.extend(task.await.expect("load task"));
    }
    Run {
        requests: latencies_ms.len(),
        elapsed: started.elapsed(),
        latencies_ms,
    }
}

fn drive() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let template = std::fs::read_to_string(FIXTURE).expect("fixture");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let baseline = Server::start("--serve-baseline");
        load(&baseline.target, &template, Duration::from_secs(1), 0).await;
        let base = load(&baseline.target, &template, Duration::from_secs(seconds), 1).await;
        drop(baseline);

        let avisa = Server::start("--serve-avisa");
        load(&avisa.target, &template, Duration::from_secs(1), 2).await;
        let run = load(&avisa.target, &template, Duration::from_secs(seconds), 3).await;
        let rss = avisa.peak_rss_mb();
        drop(avisa);

        println!(
            "baseline: {} requests in {:.1} s, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            base.requests,
            base.elapsed.as_secs_f64(),
            base.per_second(),
            base.percentile(0.5),
            base.percentile(0.99)
        );
        println!(
            "avisa:    {} durable events in {:.1} s, {} connections",
            run.requests,
            run.elapsed.as_secs_f64(),
            CONNECTIONS
        );
        println!(
            "events_per_s={:.0} p50_ms={:.2} p99_ms={:.2} baseline_ratio={:.2} rss_mb={:.1}",
            run.per_second(),
            run.percentile(0.5),
            run.percentile(0.99),
            run.per_second() / base.per_second(),
            rss
        );
    });
}
