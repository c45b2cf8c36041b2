//! `avisa backup` and `avisa restore`. Backup opens the data file directly when avisa is stopped;
//! a running avisa holds the file's lock, so it then asks it over loopback HTTP (an admin API
//! token). Restore writes only into a new, empty data directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::{dial_address, options};
use crate::db::{DATA_FILE, Db, DbError, restore};

/// `avisa backup --out FILE`.
pub fn backup(out: &Path, dir: &Path, server: &str, token: Option<&str>) -> ExitCode {
    if !dir.join(DATA_FILE).exists() {
        eprintln!(
            "avisa backup: no data file in {} (is --data-dir / AVISA_DATA_DIR right?)",
            dir.display()
        );
        return ExitCode::from(1);
    }
    match Db::open(dir, &options()) {
        Ok(store) => match store.backup_to(out) {
            Ok(summary) => {
                println!(
                    "backup written to {} ({} bytes, {} events, {} stores, {} users)",
                    out.display(),
                    summary.bytes,
                    summary.rows("events_v1"),
                    summary.rows("stores_v1"),
                    summary.rows("users_v1"),
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("avisa backup: {e}");
                ExitCode::from(1)
            }
        },
        Err(DbError::Locked(_)) => {
            let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
                eprintln!(
                    "avisa backup: avisa is running and holds the data file, so the running avisa \
                     must make the backup: pass an admin API token with --token or AVISA_TOKEN \
                     (create one in Usuários → Tokens de API), or download it in Configurações"
                );
                return ExitCode::from(1);
            };
            match backup_over_http(server, token.trim(), out) {
                Ok(bytes) => {
                    println!(
                        "backup written to {} ({bytes} bytes, made by the running avisa at {server})",
                        out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("avisa backup: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => {
            eprintln!("avisa backup: {e}");
            ExitCode::from(1)
        }
    }
}

/// `POST /api/v1/backup` on the running avisa, body saved to `out` (via `out.partial`), its
/// length and zstd checksum verified before the file takes its name.
fn backup_over_http(server: &str, token: &str, out: &Path) -> Result<u64, String> {
    let authority = dial_address(server);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&authority)
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("cannot reach the running avisa at {authority}: {e} (set --server or AVISA_LISTEN to its listen address)"))?;
    // The server copies the whole file before the first byte: allow large files time.
    stream
        .set_read_timeout(Some(Duration::from_secs(30 * 60)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "POST /api/v1/backup HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("{authority}: {e}"))?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .map_err(|e| format!("{authority}: {e}"))?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{authority} did not answer HTTP ({status_line:?})"))?;
    let mut length: Option<u64> = None;
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("{authority}: {e}"))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    if status != 200 {
        let mut body = String::new();
        let _ = reader.take(4096).read_to_string(&mut body);
        let why = match status {
            401 => "the token was refused (create an admin API token in Usuários)".to_owned(),
            403 => "the token belongs to a user who is not an admin".to_owned(),
            _ => format!("the running avisa answered {status}: {}", body.trim()),
        };
        return Err(why);
    }
    let length = length.ok_or("the answer has no Content-Length")?;
    let mut partial_name = out.file_name().unwrap_or_default().to_os_string();
    partial_name.push(".partial");
    let partial = out.with_file_name(partial_name);
    let result = (|| {
        let mut file = private_file(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
        let copied = std::io::copy(&mut reader.take(length), &mut file)
            .map_err(|e| format!("download: {e}"))?;
        if copied != length {
            return Err(format!(
                "the download stopped after {copied} of {length} bytes"
            ));
        }
        file.sync_all().map_err(|e| e.to_string())?;
        crate::db::verify_backup(&partial)
            .map_err(|e| format!("the downloaded backup does not verify: {e}"))?;
        std::fs::rename(&partial, out).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(length)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// `avisa restore FILE`.
pub fn restore_into(file: &Path, dir: &Path) -> ExitCode {
    match restore(file, dir) {
        Ok(counts) => {
            println!(
                "restored into {}: {} users, {} stores, {} events. Start avisa with --data-dir {}",
                dir.display(),
                counts.users,
                counts.stores,
                counts.events,
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("avisa restore: {e}");
            ExitCode::from(1)
        }
    }
}
