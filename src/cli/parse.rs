//! `avisa parse`: read webhook bodies as a platform would send them and print what avisa makes
//! of them (recognition only, no database).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::domain::Platform;
use crate::ingest::mapping::Mapping;
use crate::ingest::{self, Request};

pub(super) fn parse(
    platform: &str,
    raw_headers: &[String],
    mapping_file: Option<&Path>,
    files: &[PathBuf],
) -> ExitCode {
    let Some(platform) = Platform::parse(platform) else {
        let known: Vec<_> = Platform::ALL.iter().map(|p| p.id()).collect();
        eprintln!(
            "avisa parse: unknown platform {platform:?}; known: {}",
            known.join(", ")
        );
        return ExitCode::from(2);
    };
    let mapping = match mapping_file.map(|f| read_mapping(f, platform)).transpose() {
        Ok(m) => m,
        Err(why) => {
            eprintln!("avisa parse: {why}");
            return ExitCode::from(2);
        }
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
        // A `.form` file is a form body as the platform posts it (iugu, Tray).
        let mut file_headers = headers.clone();
        if file.extension().is_some_and(|e| e == "form")
            && !headers.iter().any(|(n, _)| n == "content-type")
        {
            file_headers.push((
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ));
        }
        let request = Request::new(&body, &file_headers, "");
        for reading in ingest::recognise_with(platform, mapping.as_ref(), &request) {
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

/// A mapping file, checked as the console would check it for a store of `platform`.
fn read_mapping(file: &Path, platform: Platform) -> Result<Mapping, String> {
    let text = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mapping: Mapping =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    mapping
        .validate(platform)
        .map_err(|e| format!("{}: {e}", file.display()))
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
