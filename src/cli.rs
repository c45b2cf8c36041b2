//! The command line: `serve` (the main job), `healthcheck`, `admin`, `parse`, and the operator's
//! `backup`, `restore`, `export`, `forget` (in `cli_ops`). Every flag has an
//! `AVISA_*` environment twin. Flags set only what is needed before the database opens.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app::{self, ServeConfig};
use crate::channels::whatsapp::{WHATSAPP_WEB_URL, WhatsappConfig};
use crate::cli_ops;
use crate::db::{Db, DbError, DbOptions, NewUser, Role};
use crate::domain::{Platform, SystemClock};
use crate::http::password::{hash_password, one_time_password};
use crate::ingest::{self, Request};

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
    /// Database page cache, in MiB.
    #[arg(long, env = "AVISA_CACHE_MB", default_value_t = 64)]
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
        Command::Serve(args) => serve(args),
        Command::Healthcheck { url, listen } => healthcheck(
            &url.unwrap_or_else(|| format!("http://{}/healthz", cli_ops::dial_address(&listen))),
        ),
        Command::Admin { command } => admin(command),
        Command::Parse {
            platform,
            headers,
            files,
        } => parse(&platform, &headers, &files),
        Command::Simulate {
            platform,
            every,
            start,
            files,
        } => simulate(&platform, every, start.as_deref(), &files),
        Command::Backup {
            out,
            data,
            server,
            token,
        } => cli_ops::backup(&out, &data.data_dir, &server, token.as_deref()),
        Command::Restore { file, data } => cli_ops::restore_into(&file, &data.data_dir),
        Command::Export { buyer, data } => cli_ops::export(&buyer, &data.data_dir),
        Command::Forget { buyer, data } => cli_ops::forget(&buyer, &data.data_dir),
    }
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries only what a command prints for people and scripts.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging(args.log_format, &args.log_level);
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
            data_dir: args.data.data_dir.clone(),
            public_url: args.public_url.clone(),
            cache_bytes: args.cache_mb.max(1) * 1024 * 1024,
            whatsapp: WhatsappConfig {
                url: args.whatsapp_url.clone(),
                version: None,
            },
        };
        let running = match app::start(&config, listener, Arc::new(SystemClock)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("avisa: {e}");
                return ExitCode::from(1);
            }
        };
        tracing::info!(data = %running.db.path().display(), "data file open");
        println!(
            "avisa {} no ar: abra {} no navegador",
            env!("CARGO_PKG_VERSION"),
            running.public_url
        );
        let result = running.server.await;
        app::Running::stop_channels(&running.channels, &running.whatsapp).await;
        tracing::info!("stopped; closing the data file");
        drop(running.db);
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("avisa: server error: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// A plain HTTP/1.0 GET on loopback: enough for a container health check, no TLS stack needed.
fn healthcheck(url: &str) -> ExitCode {
    let Some(rest) = url.strip_prefix("http://") else {
        eprintln!(
            "avisa healthcheck: only http:// URLs are supported (ask avisa directly, not through the proxy)"
        );
        return ExitCode::from(2);
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/healthz"),
    };
    let attempt = || -> std::io::Result<bool> {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n")?;
        let mut head = [0u8; 16];
        let n = stream.read(&mut head)?;
        Ok(head[..n].starts_with(b"HTTP/1.1 200") || head[..n].starts_with(b"HTTP/1.0 200"))
    };
    match attempt() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("avisa healthcheck: {url} did not answer 200");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("avisa healthcheck: {url}: {e}");
            ExitCode::from(1)
        }
    }
}

fn admin(command: AdminCommand) -> ExitCode {
    let data = match &command {
        AdminCommand::Create { data, .. } | AdminCommand::ResetPassword { data, .. } => {
            data.clone()
        }
    };
    let db = match Db::open(&data.data_dir, &DbOptions::default()) {
        Ok(s) => s,
        Err(DbError::Locked(dir)) => {
            eprintln!(
                "avisa admin: the data directory {} is in use by a running avisa; stop it first (or use the console)",
                dir.display()
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("avisa admin: {e}");
            return ExitCode::from(1);
        }
    };
    let password = one_time_password();
    let result = match command {
        AdminCommand::Create { email, .. } => db
            .create_user(NewUser {
                email,
                name: String::new(),
                role: Role::Admin,
                password_hash: hash_password(&password),
                lang: "pt-BR".into(),
                must_change_password: true,
                created_at: jiff::Timestamp::now().as_second(),
            })
            .map(|u| u.email),
        AdminCommand::ResetPassword { email, .. } => db.user_by_email(&email).and_then(|u| {
            let hash = hash_password(&password);
            db.update_user(u.id, |u| {
                u.password_hash = hash;
                u.must_change_password = true;
                u.disabled = false;
            })
            .map(|u| u.email)
        }),
    };
    match result {
        Ok(email) => {
            println!("{email}: one-time password {password}");
            println!("It must be changed at the first login.");
            ExitCode::SUCCESS
        }
        Err(DbError::NotFound) => {
            eprintln!("avisa admin: no user with that e-mail");
            ExitCode::from(1)
        }
        Err(DbError::Conflict(_)) => {
            eprintln!("avisa admin: a user with that e-mail already exists (use reset-password)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("avisa admin: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse(platform: &str, raw_headers: &[String], files: &[PathBuf]) -> ExitCode {
    let Some(platform) = Platform::parse(platform) else {
        let known: Vec<_> = Platform::ALL.iter().map(|p| p.id()).collect();
        eprintln!(
            "avisa parse: unknown platform {platform:?}; known: {}",
            known.join(", ")
        );
        return ExitCode::from(2);
    };
    let mut headers = Vec::new();
    for raw in raw_headers {
        let Some((name, value)) = raw.split_once(':') else {
            eprintln!("avisa parse: header {raw:?} is not 'Name: value'");
            return ExitCode::from(2);
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in files {
        let body = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("avisa parse: {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        for reading in ingest::recognise(platform, &Request::new(&body, &headers, "")) {
            let mut line = serde_json::to_value(&reading).expect("a reading serialises");
            line.as_object_mut()
                .expect("a reading is an object")
                .insert("file".into(), file.display().to_string().into());
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string(&sort_file_first(line)).expect("serialises")
            );
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Puts `file` first on the line, then `status`, `reason`, `event`, as documented.
fn sort_file_first(value: serde_json::Value) -> serde_json::Value {
    let serde_json::Value::Object(mut map) = value else {
        return value;
    };
    let mut ordered = serde_json::Map::new();
    for key in ["file", "status", "reason", "event"] {
        if let Some(v) = map.remove(key) {
            ordered.insert(key.to_owned(), v);
        }
    }
    ordered.extend(map);
    serde_json::Value::Object(ordered)
}

fn simulate(platform: &str, every: i64, start: Option<&str>, files: &[PathBuf]) -> ExitCode {
    let start = match start {
        Some(text) => match text.parse::<jiff::Timestamp>() {
            Ok(ts) => ts.as_second(),
            Err(e) => {
                eprintln!("avisa simulate: --start {text:?}: {e}");
                return ExitCode::from(2);
            }
        },
        None => today_at_ten_in_brasilia(),
    };
    let Some(platform) = Platform::parse(platform) else {
        eprintln!("avisa simulate: unknown platform {platform:?}");
        return ExitCode::from(2);
    };
    let mut inputs = Vec::new();
    for file in files {
        match std::fs::read(file) {
            Ok(body) => inputs.push(crate::queue::simulate::Input {
                name: file.display().to_string(),
                platform,
                headers: Vec::new(),
                body,
            }),
            Err(e) => {
                eprintln!("avisa simulate: {}: {e}", file.display());
                return ExitCode::from(1);
            }
        }
    }
    let work = match tempfile_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("avisa simulate: cannot create a scratch directory: {e}");
            return ExitCode::from(1);
        }
    };
    let result = crate::queue::simulate::simulate(&work, &inputs, start, every);
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(outcomes) => {
            for outcome in outcomes {
                println!("{}", serde_json::to_string(&outcome).expect("serialises"));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("avisa simulate: {e}");
            ExitCode::from(1)
        }
    }
}

/// A private scratch directory under the system's temp dir.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "avisa-simulate-{}",
        crate::http::password::random_token()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Today at 10:00 in Brasília: a virtual clock that starts in business hours.
fn today_at_ten_in_brasilia() -> i64 {
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").expect("bundled time zone");
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    today
        .to_datetime(jiff::civil::Time::new(10, 0, 0, 0).expect("10:00"))
        .to_zoned(tz)
        .map(|z| z.timestamp().as_second())
        .unwrap_or_else(|_| jiff::Timestamp::now().as_second())
}
