//! The media store's specs (`cargo test media`): one file per hash, retention and forgetting
//! remove a file with its last reference, and the backup and the LGPD walks know the tables.

use super::*;
use crate::db::DbOptions;
use crate::domain::InstanceId;

fn open() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), &DbOptions::default()).expect("open");
    (dir, db)
}

fn record(sha256: &str, stored_at: i64) -> SentMedia {
    SentMedia {
        sha256: sha256.to_owned(),
        mime: "application/pdf".into(),
        file_name: "boleto.pdf".into(),
        size: 9,
        stored_at,
    }
}

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

#[test]
fn media_store_keeps_one_file_per_hash_and_each_parts_record() {
    let (_dir, db) = open();
    db.save_message_media(MessageId(1), &record(A, 100), b"%PDF-1 a")
        .expect("save");
    db.save_message_media(MessageId(2), &record(A, 200), b"%PDF-1 a")
        .expect("save the same file again");
    assert_eq!(db.media_blob_count().expect("count"), 1, "deduplicated");
    assert_eq!(
        db.message_media(MessageId(2)).expect("read"),
        Some(record(A, 200))
    );
    assert_eq!(db.message_media(MessageId(3)).expect("read"), None);
    assert_eq!(
        db.media_bytes(A).expect("bytes").as_deref(),
        Some(&b"%PDF-1 a"[..])
    );
}

#[test]
fn media_store_retention_removes_a_file_with_its_last_reference_and_its_upload() {
    let (_dir, db) = open();
    db.save_message_media(MessageId(1), &record(A, 100), b"a")
        .expect("save");
    db.save_message_media(MessageId(2), &record(A, 300), b"a")
        .expect("save");
    db.save_message_media(MessageId(3), &record(B, 100), b"b")
        .expect("save");
    // A channel's upload result under each file's hash.
    let upload = |sha: &str| crate::db::WaOp::Put {
        space: 9,
        key: format!("upload:{sha}").into_bytes(),
        value: b"u".to_vec(),
    };
    db.wa_apply(InstanceId(1), &[upload(A), upload(B)])
        .expect("uploads");
    assert_eq!(db.purge_media_before(200).expect("purge"), 1, "only B went");
    assert_eq!(db.message_media(MessageId(1)).expect("read"), None);
    assert!(db.message_media(MessageId(2)).expect("read").is_some());
    assert!(
        db.media_bytes(A).expect("a").is_some(),
        "message 2 still names A"
    );
    assert_eq!(db.media_bytes(B).expect("b"), None);
    let kept = db
        .wa_scan(InstanceId(1), 9, b"upload:")
        .expect("scan")
        .into_iter()
        .map(|(k, _)| String::from_utf8(k).expect("utf-8"))
        .collect::<Vec<_>>();
    assert_eq!(kept, [format!("upload:{A}")]);
}
