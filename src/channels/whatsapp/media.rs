//! A media part through WhatsApp: the file is encrypted and uploaded by the library
//! (`Client::upload`) inside the instance's paced slot, and the upload's result is kept in the
//! instance's namespace under the file's SHA-256 for [`REUSE_S`], so a retry (or the same boleto
//! in a later reminder) sends the same upload instead of uploading twice. The message is the
//! library's image, document or audio message with the caption.
//!
//! An upload that fails answers `SendError::Media` with a pt-BR reason: the outbox sends the part
//! as text with the link (after a retry when the failure may pass).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use whatsapp_rust::Client;
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::http::HttpStatusError;
use whatsapp_rust::upload::{UploadOptions, UploadResponse};
use whatsapp_rust::wacore::download::MediaType;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::db::{Db, WaOp, blocking};
use crate::domain::InstanceId;
use crate::queue::channel::{Attachment, AttachmentKind, SendError};

/// The instance's namespace space of upload results (sha256 hex -> JSON `Uploaded`). A number in
/// users' data files: never reuse it (the backend's spaces are 0..=19).
pub const MEDIA_UPLOAD: u8 = 20;

/// How long an upload is reused. WhatsApp keeps uploaded media on its servers for weeks; a week
/// stays well inside that (a reminder series lasts days).
pub const REUSE_S: i64 = 7 * 86_400;

/// What an upload gave: the fields a media message carries, and when avisa uploaded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    pub url: String,
    pub direct_path: String,
    pub media_key: Vec<u8>,
    pub file_sha256: Vec<u8>,
    pub file_enc_sha256: Vec<u8>,
    pub file_length: u64,
    pub media_key_timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming_sidecar: Option<Vec<u8>>,
    /// avisa's clock at the upload (reuse is counted from here).
    pub uploaded_at: i64,
}

impl Uploaded {
    fn from_library(upload: UploadResponse, now: i64) -> Uploaded {
        Uploaded {
            url: upload.url,
            direct_path: upload.direct_path,
            media_key: upload.media_key.to_vec(),
            file_sha256: upload.file_sha256.to_vec(),
            file_enc_sha256: upload.file_enc_sha256.to_vec(),
            file_length: upload.file_length,
            media_key_timestamp: upload.media_key_timestamp,
            streaming_sidecar: upload.streaming_sidecar,
            uploaded_at: now,
        }
    }
}

/// The library's message for `file` uploaded as `up`: a document card with its file name, an
/// image or an audio, each with the caption (audio never has one).
pub fn message(up: &Uploaded, file: &Attachment) -> wa::Message {
    let caption = Some(file.caption.clone()).filter(|c| !c.is_empty());
    match file.kind {
        AttachmentKind::Document => wa::Message {
            document_message: MessageField::some(wa::message::DocumentMessage {
                url: Some(up.url.clone()),
                direct_path: Some(up.direct_path.clone()),
                media_key: Some(up.media_key.clone()),
                file_sha256: Some(up.file_sha256.clone()),
                file_enc_sha256: Some(up.file_enc_sha256.clone()),
                file_length: Some(up.file_length),
                media_key_timestamp: Some(up.media_key_timestamp),
                mimetype: Some(file.mime.clone()),
                file_name: Some(file.file_name.clone()),
                title: Some(file.file_name.clone()),
                caption,
                ..Default::default()
            }),
            ..Default::default()
        },
        AttachmentKind::Image => wa::Message {
            image_message: MessageField::some(wa::message::ImageMessage {
                url: Some(up.url.clone()),
                direct_path: Some(up.direct_path.clone()),
                media_key: Some(up.media_key.clone()),
                file_sha256: Some(up.file_sha256.clone()),
                file_enc_sha256: Some(up.file_enc_sha256.clone()),
                file_length: Some(up.file_length),
                media_key_timestamp: Some(up.media_key_timestamp),
                mimetype: Some(file.mime.clone()),
                caption,
                ..Default::default()
            }),
            ..Default::default()
        },
        AttachmentKind::Audio => wa::Message {
            audio_message: MessageField::some(wa::message::AudioMessage {
                url: Some(up.url.clone()),
                direct_path: Some(up.direct_path.clone()),
                media_key: Some(up.media_key.clone()),
                file_sha256: Some(up.file_sha256.clone()),
                file_enc_sha256: Some(up.file_enc_sha256.clone()),
                file_length: Some(up.file_length),
                media_key_timestamp: Some(up.media_key_timestamp),
                streaming_sidecar: up.streaming_sidecar.clone(),
                mimetype: Some(file.mime.clone()),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// The upload results an instance keeps, by file hash, in its namespace of the data file.
pub struct Uploads {
    db: Db,
    instance_id: InstanceId,
}

impl Uploads {
    pub fn new(db: Db, instance_id: InstanceId) -> Uploads {
        Uploads { db, instance_id }
    }

    /// The upload of the file with this hash, while it may be reused at `now`.
    pub async fn get(&self, sha256: &str, now: i64) -> Option<Uploaded> {
        let (db, id, key) = (self.db.clone(), self.instance_id, sha256.to_owned());
        let stored = blocking(move || db.wa_get(id, MEDIA_UPLOAD, key.as_bytes()))
            .await
            .ok()
            .flatten()?;
        let up: Uploaded = serde_json::from_slice(&stored).ok()?;
        (now - up.uploaded_at < REUSE_S && now >= up.uploaded_at).then_some(up)
    }

    /// Keeps an upload (a failure to keep it only costs a later upload).
    pub async fn put(&self, sha256: &str, up: &Uploaded) {
        let op = WaOp::Put {
            space: MEDIA_UPLOAD,
            key: sha256.as_bytes().to_vec(),
            value: serde_json::to_vec(up).expect("an upload serialises"),
        };
        let (db, id) = (self.db.clone(), self.instance_id);
        if let Err(e) = blocking(move || db.wa_apply(id, &[op])).await {
            tracing::warn!(error = %e, "upload result not kept");
        }
    }
}

/// The file uploaded for this instance: the kept upload while reusable, else a new one (kept).
pub async fn upload_once(
    client: &Arc<Client>,
    uploads: &Uploads,
    file: &Attachment,
    now: i64,
) -> Result<Uploaded, SendError> {
    if let Some(up) = uploads.get(&file.sha256, now).await {
        return Ok(up);
    }
    let media_type = match file.kind {
        AttachmentKind::Image => MediaType::Image,
        AttachmentKind::Document => MediaType::Document,
        AttachmentKind::Audio => MediaType::Audio,
    };
    let response = client
        .upload(file.bytes.to_vec(), media_type, UploadOptions::default())
        .await
        .map_err(upload_error)?;
    let up = Uploaded::from_library(response, now);
    uploads.put(&file.sha256, &up).await;
    Ok(up)
}

/// An upload failure as the outbox reads it: WhatsApp refusing the file (a 4xx other than auth,
/// timeout or slow-down) is final; anything else may pass on a retry.
pub fn upload_error(error: whatsapp_rust::anyhow::Error) -> SendError {
    let status = error
        .chain()
        .find_map(|e| e.downcast_ref::<HttpStatusError>())
        .map(|e| e.status);
    match status {
        Some(status) if (400..500).contains(&status) && ![401, 403, 408, 429].contains(&status) => {
            SendError::Media {
                reason: format!("o WhatsApp recusou o arquivo (HTTP {status})"),
                transient: false,
            }
        }
        Some(status) => SendError::Media {
            reason: format!("o envio do arquivo ao WhatsApp falhou (HTTP {status})"),
            transient: true,
        },
        None => SendError::Media {
            reason: format!("o envio do arquivo ao WhatsApp não terminou ({error})"),
            transient: true,
        },
    }
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod media_whatsapp_tests;
