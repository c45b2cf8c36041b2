//! `avisa serve`: logging, the tokio runtime, `app::start` on the --listen socket, and an
//! orderly stop (server, then WhatsApp connections, then the data file).

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use super::{LogFormat, ServeArgs, allocator};
use crate::app::{self, ServeConfig};
use crate::channels::whatsapp::WhatsappConfig;
use crate::domain::SystemClock;

fn init_logging(format: LogFormat, level: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    type Filtered = tracing_subscriber::layer::Layered<
        tracing_subscriber::EnvFilter,
        tracing_subscriber::Registry,
    >;

    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries only what a command prints for people and scripts.
    let output = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(std::io::stderr);
    let output: Box<dyn tracing_subscriber::Layer<Filtered> + Send + Sync> = match format {
        LogFormat::Text => Box::new(output),
        LogFormat::Json => Box::new(output.json()),
    };
    // actix-http's per-connection errors (anyone can cause them) become a WARN a minute.
    tracing_subscriber::registry()
        .with(filter)
        .with(crate::http::ConnectionNoise::new(
            output,
            Arc::new(SystemClock),
        ))
        .init();
}

pub(super) fn serve(args: ServeArgs) -> ExitCode {
    init_logging(args.log_format, &args.log_level);
    allocator::tune();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    runtime.block_on(async move {
        let listener = match TcpListener::bind(&args.listen) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("avisa: cannot listen on {}: {e}", args.listen);
                return ExitCode::from(2);
            }
        };
        let config = ServeConfig {
            limits: Default::default(),
            data_dir: args.data.data_dir.clone(),
            public_url: args.public_url.clone(),
            cache_bytes: args.cache_mb.max(1) * 1024 * 1024,
            trusted_proxies: args.trusted_proxies.clone().unwrap_or_default(),
            whatsapp: WhatsappConfig {
                url: args.whatsapp_url.clone(),
                version: None,
                http: None,
            },
            platform_api_stand_in: None,
        };
        let running = match app::start(&config, listener, Arc::new(SystemClock)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("avisa: {e}");
                return ExitCode::from(1);
            }
        };
        tracing::info!(data = %running.db.path().display(), "data file open");
        if running.db.repaired_on_open() {
            tracing::warn!(
                "the data file was not closed cleanly last time (avisa was killed or the machine \
                 stopped): it was checked and repaired while opening"
            );
        }
        println!(
            "avisa {} no ar: abra {} no navegador",
            env!("CARGO_PKG_VERSION"),
            running.public_url
        );
        let result = running.server.await;
        app::Running::stop_channels(&running.channels, &running.whatsapp).await;
        tracing::info!("stopped; closing the data file");
        // Every clone (intake writer, outbox, jobs) shares this close: the write in progress
        // finishes, then redb marks the file clean, so the next start skips the repair scan.
        if let Err(e) = running.db.close() {
            tracing::error!(error = %e, "the data file did not close cleanly");
        }
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("avisa: server error: {e}");
                ExitCode::from(1)
            }
        }
    })
}
