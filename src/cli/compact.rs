//! `avisa compact`: shrinks the data file of a stopped avisa to what it holds (after retention
//! deleted old raw bodies). A running avisa holds the file; it compacts by itself on a quiet
//! night, so the command refuses and says so.

use std::path::Path;
use std::process::ExitCode;

use super::open_existing;

const LIVE_HINT: &str = "stop it first (systemctl stop avisa), or leave it running: it compacts \
                         the file by itself on a quiet night";

pub fn compact(dir: &Path) -> ExitCode {
    let db = match open_existing("compact", dir, LIVE_HINT) {
        Ok(db) => db,
        Err(code) => return code,
    };
    let result = db.compact();
    let closed = db.close();
    match (result, closed) {
        (Ok(c), Ok(())) => {
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            println!(
                "{}: {:.1} MiB -> {:.1} MiB ({:.1} MiB given back)",
                db.path().display(),
                mib(c.bytes_before),
                mib(c.bytes_after),
                mib(c.bytes_before.saturating_sub(c.bytes_after)),
            );
            ExitCode::SUCCESS
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("avisa compact: {e}");
            ExitCode::from(1)
        }
    }
}
