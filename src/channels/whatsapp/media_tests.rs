//! The WhatsApp side of media parts (`cargo test media`): the message is the library's document,
//! image or audio message carrying the upload's fields and the caption; an upload is reused for
//! a week and not after; upload failures are read as final (WhatsApp refused the file) or worth
//! a retry.

use std::sync::Arc;

use whatsapp_rust::anyhow;

use super::*;
use crate::db::DbOptions;

fn uploaded(at: i64) -> Uploaded {
    Uploaded {
        url: "https://mmg.whatsapp.net/d/f/abc.enc".into(),
        direct_path: "/v/t62.7119-24/abc.enc".into(),
        media_key: vec![1; 32],
        file_sha256: vec![2; 32],
        file_enc_sha256: vec![3; 32],
        file_length: 84_213,
        media_key_timestamp: 1_763_478_000,
        streaming_sidecar: None,
        uploaded_at: at,
    }
}

fn file(kind: AttachmentKind, caption: &str) -> Attachment {
    Attachment {
        kind,
        bytes: Arc::from(&b"%PDF-1.4"[..]),
        mime: "application/pdf".into(),
        file_name: "boleto-123.pdf".into(),
        sha256: "ab".repeat(32),
        caption: caption.into(),
    }
}

#[test]
fn media_a_document_part_is_the_librarys_document_message_with_its_name_and_caption() {
    let up = uploaded(0);
    let sent = message(&up, &file(AttachmentKind::Document, "Seu boleto"));
    let doc = sent
        .document_message
        .as_option()
        .expect("a document message");
    assert_eq!(doc.url.as_deref(), Some(up.url.as_str()));
    assert_eq!(doc.direct_path.as_deref(), Some(up.direct_path.as_str()));
    assert_eq!(doc.media_key.as_deref(), Some(&[1u8; 32][..]));
    assert_eq!(doc.file_sha256.as_deref(), Some(&[2u8; 32][..]));
    assert_eq!(doc.file_enc_sha256.as_deref(), Some(&[3u8; 32][..]));
    assert_eq!(doc.file_length, Some(84_213));
    assert_eq!(doc.mimetype.as_deref(), Some("application/pdf"));
    assert_eq!(doc.file_name.as_deref(), Some("boleto-123.pdf"));
    assert_eq!(doc.caption.as_deref(), Some("Seu boleto"));
    assert!(sent.image_message.as_option().is_none() && sent.conversation.is_none());
}

#[test]
fn media_an_image_part_carries_its_caption_and_an_empty_caption_is_none() {
    let mut qr = file(AttachmentKind::Image, "Aponte a câmera");
    qr.mime = "image/png".into();
    let sent = message(&uploaded(0), &qr);
    let image = sent.image_message.as_option().expect("an image message");
    assert_eq!(
        (image.mimetype.as_deref(), image.caption.as_deref()),
        (Some("image/png"), Some("Aponte a câmera"))
    );
    let bare = message(&uploaded(0), &file(AttachmentKind::Image, ""));
    assert_eq!(bare.image_message.as_option().expect("image").caption, None);
    let audio = message(&uploaded(0), &file(AttachmentKind::Audio, ""));
    assert!(audio.audio_message.as_option().is_some());
}

#[tokio::test]
async fn media_an_upload_is_reused_for_a_week_and_not_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), &DbOptions::default()).expect("open");
    let uploads = Uploads::new(db.clone(), InstanceId(1));
    let sha = "cd".repeat(32);
    assert_eq!(uploads.get(&sha, 100).await, None);
    uploads.put(&sha, &uploaded(100)).await;
    assert_eq!(
        uploads.get(&sha, 100 + REUSE_S - 1).await,
        Some(uploaded(100))
    );
    assert_eq!(
        uploads.get(&sha, 100 + REUSE_S).await,
        None,
        "uploaded again"
    );
    let other = Uploads::new(db, InstanceId(2));
    assert_eq!(other.get(&sha, 101).await, None, "per instance");
}

#[test]
fn media_upload_failures_are_final_when_whatsapp_refuses_the_file() {
    let status =
        |status: u16| anyhow::Error::new(HttpStatusError { status }).context("Upload failed");
    let read: Vec<SendError> = [
        status(413),
        status(403),
        status(500),
        anyhow::anyhow!("connection reset"),
    ]
    .into_iter()
    .map(upload_error)
    .collect();
    assert_eq!(
        read,
        [
            SendError::Media {
                reason: "o WhatsApp recusou o arquivo (HTTP 413)".into(),
                transient: false
            },
            SendError::Media {
                reason: "o envio do arquivo ao WhatsApp falhou (HTTP 403)".into(),
                transient: true
            },
            SendError::Media {
                reason: "o envio do arquivo ao WhatsApp falhou (HTTP 500)".into(),
                transient: true
            },
            SendError::Media {
                reason: "o envio do arquivo ao WhatsApp não terminou (connection reset)".into(),
                transient: true
            },
        ]
    );
}
