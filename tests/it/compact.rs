//! `avisa compact`: refused politely while a server holds the data file, done on a stopped one.

use std::process::{Command, Output};

use avisa::db::{Db, DbOptions};

use crate::support::TestApp;

fn avisa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avisa"))
        .args(args)
        .env_remove("AVISA_DATA_DIR")
        .output()
        .expect("the avisa binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_refuses_a_file_a_server_holds_and_compacts_a_stopped_one() {
    let app = TestApp::start().await;
    let live = avisa(&[
        "compact",
        "--data-dir",
        app.data_path().to_str().expect("utf-8"),
    ]);
    let err = String::from_utf8_lossy(&live.stderr);
    assert_eq!(live.status.code(), Some(1), "{err}");
    assert!(
        err.contains("a running avisa is using") && err.contains("compacts the file by itself"),
        "{err}"
    );
    app.db.ping().expect("the server still has its file");

    let stopped = tempfile::tempdir().expect("tempdir");
    let db = Db::open(stopped.path(), &DbOptions::default()).expect("open");
    db.close().expect("close");
    let done = avisa(&[
        "compact",
        "--data-dir",
        stopped.path().to_str().expect("utf-8"),
    ]);
    let out = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        out.contains("avisa.redb: ") && out.contains("MiB given back"),
        "{out}"
    );
    assert!(
        !Db::open(stopped.path(), &DbOptions::default())
            .expect("reopen")
            .repaired_on_open(),
        "the command closes the file clean"
    );
}
