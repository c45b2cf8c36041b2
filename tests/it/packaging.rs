//! Packaging tells the truth: the Dockerfile's entrypoint, command, environment and health check
//! run the real binary; the systemd unit's command line parses; the example environment file
//! lists every AVISA_* variable the binary reads; send-fixture.sh reaches a running avisa.
//! (No Docker engine is needed: the image's contract is checked, not the image.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use avisa::domain::NewStore;
use avisa::domain::Platform;

use crate::support::TestApp;

/// A clean command: none of the caller's AVISA_* variables leak in.
fn avisa_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_avisa"));
    for (name, _) in std::env::vars() {
        if name.starts_with("AVISA_") {
            command.env_remove(name);
        }
    }
    command
}

/// The final stage of the Dockerfile, instruction by instruction (continuations joined).
fn final_stage() -> Vec<(String, String)> {
    let text = std::fs::read_to_string("packaging/Dockerfile").expect("Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                if let Some((word, rest)) = current.trim().split_once(char::is_whitespace) {
                    instructions.push((word.to_ascii_uppercase(), rest.trim().to_owned()));
                }
                current.clear();
            }
        }
    }
    let last_from = instructions
        .iter()
        .rposition(|(word, _)| word == "FROM")
        .expect("a FROM line");
    instructions.split_off(last_from)
}

fn one<'a>(stage: &'a [(String, String)], word: &str) -> &'a str {
    let found: Vec<_> = stage.iter().filter(|(w, _)| w == word).collect();
    assert_eq!(found.len(), 1, "exactly one {word} in the final stage");
    &found[0].1
}

fn exec_form(value: &str) -> Vec<String> {
    serde_json::from_str(value).unwrap_or_else(|e| panic!("{value} is exec (JSON) form: {e}"))
}

/// `ENV A=1 B=2` lines of the stage, in order.
fn env_of(stage: &[(String, String)]) -> BTreeMap<String, String> {
    stage
        .iter()
        .filter(|(w, _)| w == "ENV")
        .flat_map(|(_, rest)| {
            rest.split_whitespace()
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("ENV uses KEY=value");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_dockerfile_runs_real_flags_as_a_non_root_user() {
    let stage = final_stage();
    let entrypoint = exec_form(one(&stage, "ENTRYPOINT"));
    let cmd = exec_form(one(&stage, "CMD"));
    let env = env_of(&stage);
    let health = one(&stage, "HEALTHCHECK");
    let health = exec_form(health[health.find("CMD").expect("HEALTHCHECK CMD") + 3..].trim());
    let binary = "/usr/local/bin/avisa";
    assert_eq!(entrypoint[0], binary);
    assert_eq!(health[0], binary);
    assert!(
        stage
            .iter()
            .any(|(w, rest)| w == "COPY" && rest.ends_with(binary)),
        "the binary is copied to {binary}"
    );
    let user = one(&stage, "USER");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "USER {user}"
    );
    assert_eq!(env["AVISA_LISTEN"], "0.0.0.0:8080");
    assert_eq!(env["AVISA_DATA_DIR"], "/data");
    assert_eq!(one(&stage, "EXPOSE"), "8080");
    assert!(one(&stage, "VOLUME").contains("\"/data\""));

    // The container's command line with --help: every flag in it is a real flag.
    let args: Vec<&String> = entrypoint[1..].iter().chain(&cmd).collect();
    let help = avisa_command()
        .args(&args)
        .arg("--help")
        .envs(&env)
        .output()
        .expect("runs");
    assert!(
        help.status.success(),
        "{}",
        String::from_utf8_lossy(&help.stderr)
    );
    for name in env.keys() {
        let listed = String::from_utf8_lossy(&help.stdout).contains(name.as_str());
        assert!(listed, "{name} is read by `avisa {}`", cmd.join(" "));
    }

    // Then for real: the image's exact command and environment, except the volume path (a
    // temporary directory here) and the port (8080 may be taken on this machine).
    let data = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut env = env.clone();
    env.insert("AVISA_DATA_DIR".into(), data.path().display().to_string());
    env.insert("AVISA_LISTEN".into(), format!("0.0.0.0:{port}"));
    let mut server = avisa_command()
        .args(&args)
        .envs(&env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("avisa serve starts");
    let stdout = BufReader::new(server.stdout.take().expect("stdout"));
    let mut up = false;
    for line in stdout.lines() {
        if line.expect("line").contains("no ar") {
            up = true;
            break;
        }
    }
    assert!(up, "avisa announced itself");
    let check = avisa_command()
        .args(&health[1..])
        .envs(&env)
        .output()
        .expect("healthcheck runs");
    server.kill().expect("stop avisa");
    server.wait().expect("reaped");
    assert!(
        check.status.success(),
        "HEALTHCHECK passes: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// A data directory that avisa's user may not make private — root's, as a bind-mounted folder in
/// a container usually is — stops `avisa serve` with the path, its owner and the owner avisa needs
/// (it used to say only `data directory: Operation not permitted (os error 1)`). As root, avisa
/// runs as `nobody` on a root-owned folder; otherwise as this user on `/`.
#[test]
fn a_data_directory_of_another_user_is_refused_with_the_owner_it_needs() {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let effective = |key: &str| -> u32 {
        let line = status.lines().find(|l| l.starts_with(key)).expect(key);
        let id = line.split_whitespace().nth(2).expect("effective id");
        id.parse().expect("a number")
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut command, dir, uid, gid) = if effective("Uid:") == 0 {
        use std::os::unix::fs::PermissionsExt;
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).expect("mkdir");
        for path in [tmp.path(), dir.as_path()] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        command.arg(env!("CARGO_BIN_EXE_avisa"));
        (command, dir, 65534, 65534)
    } else {
        let (uid, gid) = (effective("Uid:"), effective("Gid:"));
        (avisa_command(), std::path::PathBuf::from("/"), uid, gid)
    };
    for (name, _) in std::env::vars() {
        if name.starts_with("AVISA_") {
            command.env_remove(name);
        }
    }
    let out = command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .output()
        .expect("avisa runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let dir = dir.display();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "avisa: data directory: {dir}: cannot make it private (mode 0700): Operation not \
             permitted (os error 1). It belongs to uid 0 and avisa runs as uid {uid}: the \
             directory must belong to uid {uid} (chown -R {uid}:{gid} {dir})"
        )
    );
}

/// `Key=value` lines of the unit's [Service] section.
fn unit_values(key: &str) -> Vec<String> {
    let text = std::fs::read_to_string("packaging/systemd/avisa.service").expect("unit");
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_systemd_unit_runs_real_flags_as_the_sysusers_user() {
    let exec = unit_values("ExecStart");
    assert_eq!(exec.len(), 1);
    let mut words = exec[0].split_whitespace();
    assert_eq!(words.next(), Some("/usr/bin/avisa"));
    let args: Vec<&str> = words.collect();
    let help = avisa_command()
        .args(&args)
        .arg("--help")
        .output()
        .expect("runs");
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for assignment in unit_values("Environment") {
        let name = assignment.split('=').next().expect("NAME=value");
        assert!(help.contains(name), "{name} is read by avisa serve");
    }
    let sysusers = std::fs::read_to_string("packaging/systemd/avisa.sysusers").expect("sysusers");
    let user = &unit_values("User")[0];
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["u", user.as_str()])),
        "avisa.sysusers creates {user}"
    );
    let tmpfiles = std::fs::read_to_string("packaging/systemd/avisa.tmpfile").expect("tmpfiles");
    let data_dir = unit_values("Environment")
        .iter()
        .find_map(|a| a.strip_prefix("AVISA_DATA_DIR=").map(str::to_owned))
        .expect("AVISA_DATA_DIR in the unit");
    assert!(
        tmpfiles.lines().any(|l| l.split_whitespace().eq([
            "d",
            data_dir.as_str(),
            "0700",
            user,
            user,
            "-"
        ])),
        "avisa.tmpfile makes {data_dir} private to {user}"
    );
    assert_eq!(unit_values("EnvironmentFile"), ["-/etc/avisa/avisa.env"]);
    let manifest = std::fs::read_to_string("Cargo.toml").expect("Cargo.toml");
    assert!(
        manifest.contains("[\"examples/avisa.env\", \"etc/avisa/avisa.env\""),
        "the .deb installs the environment file the unit reads"
    );
}

#[test]
fn the_example_environment_file_lists_every_variable() {
    let cli = std::fs::read_to_string("src/cli/mod.rs").expect("cli/mod.rs");
    let read: BTreeSet<&str> = cli
        .split("env = \"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').expect("closing quote")])
        .collect();
    assert!(read.len() >= 8, "{read:?}");
    let example = std::fs::read_to_string("examples/avisa.env").expect("avisa.env");
    let documented: BTreeSet<&str> = example
        .lines()
        .filter_map(|l| l.trim_start_matches('#').split_once('='))
        .map(|(name, _)| name.trim())
        .filter(|name| name.starts_with("AVISA_") && !name.contains(' '))
        .collect();
    assert_eq!(
        read, documented,
        "examples/avisa.env lists exactly what avisa reads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_fixture_posts_a_body_to_a_running_avisa() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl is not installed: send-fixture.sh not exercised");
        return;
    }
    let app = TestApp::start().await;
    let token = "f".repeat(32);
    app.db
        .create_store(NewStore {
            name: "Loja".into(),
            slug: "loja".into(),
            platform: Platform::Shopify,
            enabled: true,
            secret: None,
            webhook_token: token.clone(),
            created_at: 0,
        })
        .expect("store");
    let url = app.at(&format!("/webhook/{token}/loja"));
    let output = tokio::task::spawn_blocking(move || {
        Command::new("sh")
            .args([
                "examples/send-fixture.sh",
                &url,
                "tests/fixtures/shopify/orders_paid.json",
                "X-Shopify-Topic: orders/paid",
            ])
            .output()
            .expect("sh runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("HTTP 202"),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events = app
        .db
        .list_events(&avisa::db::EventFilter {
            limit: 10,
            ..Default::default()
        })
        .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]
            .kind()
            .and_then(avisa::domain::EventKind::static_str),
        Some("order.paid"),
        "the header reached avisa"
    );
}

#[test]
fn the_systemd_unit_raises_the_open_file_limit_above_the_connection_bound() {
    // 2 workers x their connections, connections waiting in the accept queue, the data file,
    // logs and WhatsApp sockets: well above the served connections.
    let served = 2 * avisa::http::Limits::default().connections_per_worker as u64;
    let limit = unit_values("LimitNOFILE");
    let limit: u64 = limit
        .first()
        .and_then(|v| v.parse().ok())
        .expect("LimitNOFILE is set to a number");
    assert!(limit >= 4096 && limit >= 4 * served, "{limit} for {served}");
}
