//! What a media part sent: the record kept beside the message (which file, by its SHA-256, its
//! type and the name the buyer saw), so the console can show the file the part carried. The
//! bytes themselves are stored once per SHA-256 (`db::media`). Pure.

use serde::{Deserialize, Serialize};

/// The file a message part carried to the buyer (or to the caixa de teste).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMedia {
    /// Lowercase hex SHA-256 of the bytes: the key of the stored file.
    pub sha256: String,
    /// Sniffed from the bytes (`application/pdf`, `image/png`, …), never the server's word.
    pub mime: String,
    /// The name a document card shows (`boleto-123.pdf`, `pix.png`).
    pub file_name: String,
    /// The file's size in bytes.
    pub size: u64,
    /// When it was fetched or drawn (Unix seconds); retention counts from here.
    pub stored_at: i64,
}
