//! The rings of docs/ARCHITECTURE.md, held by a test: which module may name which library and
//! which other module, and the size limit of a production file. Reads `src/` as text; test code
//! (`*_tests.rs` files, `*_tests/` folders and everything from a file's first `#[cfg(test)]` on)
//! is left out, since tests may reach across rings (the queue's tests drive the fake channel).

use std::path::{Path, PathBuf};

/// A production file above this many lines is split by responsibility (STYLE.md).
const MAX_LINES: usize = 600;

/// (folder under src/, what its production code must never name, why).
const RINGS: &[(&str, &[&str], &str)] = &[
    (
        "domain",
        &[
            "redb",
            "actix",
            "tokio",
            "std::fs",
            "std::net",
            "crate::db",
            "crate::queue",
            "crate::channels",
            "crate::http",
            "crate::render",
            "crate::ingest",
        ],
        "domain is the model and the rules: pure, no I/O, depends on nothing of ours",
    ),
    (
        "ingest",
        &[
            "redb",
            "actix",
            "tokio",
            "std::net",
            "crate::db",
            "crate::queue",
            "crate::channels",
            "crate::http",
        ],
        "recognisers are pure: body in, events out",
    ),
    (
        "render",
        &[
            "redb",
            "actix",
            "tokio",
            "std::net",
            "crate::db",
            "crate::queue",
            "crate::channels",
            "crate::http",
        ],
        "rendering is pure",
    ),
    (
        "db",
        &["actix", "crate::queue", "crate::channels", "crate::http"],
        "storage points inward only",
    ),
    (
        "queue",
        &["redb", "actix", "crate::channels", "crate::http"],
        "queue defines the channel traits and finds channels through ChannelLookup",
    ),
    (
        "channels",
        &["redb", "actix", "crate::http"],
        "channels implement queue's traits over db",
    ),
    (
        "net",
        &["redb", "actix", "tokio", "crate::"],
        "net is the outbound HTTP client: std and ureq, nothing of ours",
    ),
    (
        "media",
        &[
            "redb",
            "actix",
            "crate::db",
            "crate::queue",
            "crate::channels",
            "crate::http",
        ],
        "media's building blocks use domain and net only",
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src folder readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The production part of a file: none for a `*_tests.rs` file, else the lines before its first
/// `#[cfg(test)]`, comment lines blanked (a comment may name what the code must not; the line
/// numbers stay right).
fn production_lines(path: &Path) -> Vec<String> {
    if is_test_file(path) {
        return Vec::new();
    }
    std::fs::read_to_string(path)
        .expect("source readable")
        .lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .map(|l| {
            if l.trim_start().starts_with("//") {
                String::new()
            } else {
                l.to_owned()
            }
        })
        .collect()
}

/// A `*_tests.rs` file, or a file inside a `*_tests/` folder (a test module split in parts).
fn is_test_file(path: &Path) -> bool {
    path.components().any(|c| {
        let part = c.as_os_str().to_string_lossy();
        part.ends_with("_tests.rs") || part.ends_with("_tests")
    })
}

fn files_under(folder: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&src().join(folder), &mut files);
    files.sort();
    files
}

#[test]
fn architecture_each_ring_names_only_what_is_inside_it() {
    let mut broken = Vec::new();
    for (folder, forbidden, why) in RINGS {
        for file in files_under(folder) {
            for (n, line) in production_lines(&file).iter().enumerate() {
                // Strings (log messages, file suffixes such as ".redb.zst") are not code.
                let code: String = line.split('"').step_by(2).collect::<Vec<_>>().join("\"\"");
                for word in *forbidden {
                    if code.contains(word) {
                        broken.push(format!(
                            "{}:{}: names `{word}` ({why})",
                            file.strip_prefix(src()).expect("under src").display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "ring violations:\n{}", broken.join("\n"));
}

#[test]
fn architecture_redb_and_actix_each_live_in_one_ring() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut broken = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src()).expect("under src").to_path_buf();
        let text = production_lines(&file).join("\n");
        if text.contains("redb::") && !rel.starts_with("db") {
            broken.push(format!("{}: names redb outside src/db", rel.display()));
        }
        // One HTTP client for every outbound call, behind net's policy and SSRF guard.
        if text.contains("ureq::") && !rel.starts_with("net") {
            broken.push(format!("{}: names ureq outside src/net", rel.display()));
        }
        // app.rs wires the server and may name its handle types through `http`.
        if text.contains("actix_web::") && !rel.starts_with("http") {
            broken.push(format!(
                "{}: names actix-web outside src/http",
                rel.display()
            ));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn architecture_no_production_file_is_over_the_size_limit() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut large: Vec<String> = files
        .iter()
        .filter(|f| !is_test_file(f))
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f)
                .expect("source readable")
                .lines()
                .count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    large.sort();
    assert!(large.is_empty(), "split these by responsibility: {large:?}");
}
