//! Streams a staged backup to the browser or `avisa backup` as an attachment, read off the async
//! workers in chunks.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{CONTENT_DISPOSITION, HeaderValue};
use actix_web::web::Bytes;
use tokio::sync::mpsc;

use super::operations::backup::StagedBackup;

/// Bytes read from the backup file per chunk sent.
const CHUNK: usize = 256 * 1024;

/// A backup file streamed from an open (already unlinked) file by a blocking reader.
struct BackupBody {
    size: u64,
    chunks: mpsc::Receiver<std::io::Result<Bytes>>,
}

impl MessageBody for BackupBody {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.size)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.get_mut().chunks.poll_recv(cx)
    }
}

/// The backup as a `application/zstd` attachment under its own name.
pub fn attachment(backup: StagedBackup) -> HttpResponse {
    let StagedBackup { file, size, name } = backup;
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        loop {
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break; // the client went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let disposition = format!("attachment; filename=\"{name}\"");
    HttpResponse::Ok()
        .content_type("application/zstd")
        .insert_header((
            CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).expect("a backup name is a valid header"),
        ))
        .body(BackupBody { size, chunks: rx })
}
