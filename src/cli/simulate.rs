//! `avisa simulate`: a dry run that replays webhook bodies through recognition and planning on a
//! virtual clock, in a scratch data directory (`queue::simulate` does the work).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::domain::{Clock, Platform, SystemClock};

pub(super) fn simulate(
    platform: &str,
    every: i64,
    start: Option<&str>,
    files: &[PathBuf],
) -> ExitCode {
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
    let now = SystemClock.now();
    let today = jiff::Timestamp::from_second(now)
        .expect("the clock reads a valid time")
        .to_zoned(tz.clone())
        .date();
    today
        .to_datetime(jiff::civil::Time::new(10, 0, 0, 0).expect("10:00"))
        .to_zoned(tz)
        .map(|z| z.timestamp().as_second())
        .unwrap_or(now)
}
