//! The command line: the clap definitions of every command and the dispatch to one file per
//! command group: `serve` (the main job), `healthcheck`, `admin`, `parse`, `simulate`, and the
//! operator's `backup`/`restore`, LGPD `export`/`forget` and `compact`. Every flag has an `AVISA_*`
//! environment twin. Flags set only what is needed before the database opens.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::channels::whatsapp::WHATSAPP_WEB_URL;
use crate::db::{DATA_FILE, Db, DbError, DbOptions};

mod admin;
pub mod allocator;
mod backup;
mod compact;
mod healthcheck;
mod lgpd;
mod parse;
mod serve;
mod simulate;

pub use healthcheck::dial_address;

#[derive(Parser, Debug)]
#[command(
    name = "avisa",
    version,
    about = "WhatsApp messages for Brazilian merchants, from their platforms' webhooks."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run avisa: the console, the webhook endpoint and the senders.
    Serve(ServeArgs),
    /// Exit 0 when a running avisa answers /healthz (for container health checks).
    Healthcheck {
        /// The health URL to ask [default: /healthz on the --listen address, via loopback].
        #[arg(long, env = "AVISA_HEALTHCHECK_URL")]
        url: Option<String>,
        /// The address avisa listens on (read from the same AVISA_LISTEN as `serve`).
        #[arg(long, env = "AVISA_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Print docs/integrations.md (every platform's setup, authentication and notification
    /// table), generated from the recognisers' tables.
    IntegrationsDoc,
    /// Manage console administrators (run while avisa is stopped: the data file is locked).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Read webhook bodies as a platform would send them and print what avisa makes of them.
    /// Dry run: replay webhook bodies in order through recognition and planning with the default
    /// templates, on a virtual clock, and print what would be sent or canceled.
    Simulate {
        /// The platform that sent the bodies.
        #[arg(long, env = "AVISA_PARSE_PLATFORM")]
        platform: String,
        /// Virtual seconds between two files.
        #[arg(long, default_value_t = 60)]
        every: i64,
        /// When the first file arrives (RFC 3339); default: today at 10:00, Brasília time.
        #[arg(long)]
        start: Option<String>,
        /// Body files, in the order the platform would send them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    Parse {
        /// The platform that sent the bodies (hotmart, kiwify, shopify, …).
        #[arg(long, env = "AVISA_PARSE_PLATFORM")]
        platform: String,
        /// A header as the platform sends it, e.g. 'X-Shopify-Topic: orders/paid'. Repeatable
        /// (in the environment: one header per line).
        #[arg(
            long = "header",
            value_name = "NAME: VALUE",
            env = "AVISA_PARSE_HEADERS",
            value_delimiter = '\n'
        )]
        headers: Vec<String>,
        /// A store mapping file (as exported from the console or `GET /api/v1/stores/{id}/mapping`)
        /// to read the bodies with: kinds for unmapped names, or a `custom` platform's fields.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Body files (JSON or form-encoded).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a consistent, compressed backup of all data (works while avisa runs).
    Backup {
        /// The backup file to write (a zstd-compressed redb file, e.g. avisa.redb.zst).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Where the running avisa listens, when it holds the data file (its --listen).
        #[arg(long, env = "AVISA_LISTEN", default_value = "127.0.0.1:8080")]
        server: String,
        /// An admin API token (Usuários → Tokens de API), needed only while avisa runs.
        #[arg(long, env = "AVISA_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Restore a backup into a new, empty data directory (never overwrites anything).
    Restore {
        /// The backup file (from `avisa backup` or Configurações → Baixar backup).
        file: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// LGPD: print everything avisa keeps about a buyer, as JSON (avisa stopped; or use the console).
    Export {
        /// The buyer's phone, e.g. +5511987654321 or "(11) 98765-4321".
        #[arg(long, value_name = "PHONE")]
        buyer: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// LGPD: erase a buyer's events and raw bodies; only a hash of the phone stays, as an opt-out.
    Forget {
        /// The buyer's phone, e.g. +5511987654321 or "(11) 98765-4321".
        #[arg(long, value_name = "PHONE")]
        buyer: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Give the data file back the space retention freed. avisa must be stopped; a running one
    /// compacts by itself on a quiet night.
    Compact {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an admin and print a one-time password (changed at first login).
    Create {
        /// The admin's e-mail (login).
        #[arg(long, env = "AVISA_ADMIN_EMAIL")]
        email: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Replace a user's password with a one-time password and print it.
    ResetPassword {
        /// The user's e-mail (login).
        #[arg(long, env = "AVISA_ADMIN_EMAIL")]
        email: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Where avisa keeps its data file (created 0700).
    #[arg(long, env = "AVISA_DATA_DIR", default_value = "./avisa-data")]
    pub data_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "AVISA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// The URL platforms and people reach avisa at (used in webhook URLs; https turns on secure cookies).
    #[arg(long, env = "AVISA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Reverse proxies whose X-Forwarded-For / Forwarded name the client (addresses or networks,
    /// comma-separated, or `none`); by default loopback when the public URL is https.
    #[arg(long, env = "AVISA_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<crate::http::TrustedProxies>,
    /// Database page cache, in MiB. Small by default: a merchant's VPS has 512 MB–1 GB, and
    /// what the cache holds stays resident (docs/BENCHMARKS.md, memory under a storm).
    #[arg(long, env = "AVISA_CACHE_MB", default_value_t = 16)]
    pub cache_mb: usize,
    /// Log format.
    #[arg(long, env = "AVISA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log level or filter (error, warn, info, debug; or a tracing filter).
    #[arg(long, env = "AVISA_LOG", default_value = "info")]
    pub log_level: String,
    /// The WhatsApp WebSocket endpoint (WhatsApp Web; change only to go through a relay).
    #[arg(long, env = "AVISA_WHATSAPP_URL", default_value = WHATSAPP_WEB_URL)]
    pub whatsapp_url: String,
}

/// Runs the parsed command line; the exit code is the process's.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Healthcheck { url, listen } => {
            healthcheck::healthcheck(&url.unwrap_or_else(|| {
                format!("http://{}/healthz", healthcheck::dial_address(&listen))
            }))
        }
        Command::Admin { command } => admin::admin(command),
        Command::IntegrationsDoc => {
            print!(
                "{}",
                crate::http::integrations_markdown(&crate::http::Ui::load())
            );
            ExitCode::SUCCESS
        }
        Command::Parse {
            platform,
            headers,
            mapping,
            files,
        } => parse::parse(&platform, &headers, mapping.as_deref(), &files),
        Command::Simulate {
            platform,
            every,
            start,
            files,
        } => simulate::simulate(&platform, every, start.as_deref(), &files),
        Command::Backup {
            out,
            data,
            server,
            token,
        } => backup::backup(&out, &data.data_dir, &server, token.as_deref()),
        Command::Restore { file, data } => backup::restore_into(&file, &data.data_dir),
        Command::Export { buyer, data } => lgpd::export(&buyer, &data.data_dir),
        Command::Forget { buyer, data } => lgpd::forget(&buyer, &data.data_dir),
        Command::Compact { data } => compact::compact(&data.data_dir),
    }
}

/// A small page cache: these commands read once and exit.
fn options() -> DbOptions {
    DbOptions {
        cache_bytes: 8 * 1024 * 1024,
        ..DbOptions::default()
    }
}

/// Opens an existing data file; `None` (after telling the operator why) when it cannot.
fn open_existing(command: &str, dir: &Path, live_hint: &str) -> Result<Db, ExitCode> {
    if !dir.join(DATA_FILE).exists() {
        eprintln!(
            "avisa {command}: no data file in {} (is --data-dir / AVISA_DATA_DIR right?)",
            dir.display()
        );
        return Err(ExitCode::from(1));
    }
    match Db::open(dir, &options()) {
        Ok(store) => Ok(store),
        Err(DbError::Locked(dir)) => {
            eprintln!(
                "avisa {command}: a running avisa is using {}; {live_hint}",
                dir.display()
            );
            Err(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("avisa {command}: {e}");
            Err(ExitCode::from(1))
        }
    }
}
