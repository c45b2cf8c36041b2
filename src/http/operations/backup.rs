//! Backups made by the running avisa (the only process that can read its locked data file):
//! staged in the data directory and unlinked at once, so a dropped download leaves nothing
//! behind. No actix types; the console and the API stream the result with `http::download`.

use crate::db::DbError;
use crate::domain::housekeeping::backup_file_name;
use crate::http::AppState;
use crate::http::password::random_token;

/// A finished backup: an open handle to an already unlinked file.
pub struct StagedBackup {
    pub file: std::fs::File,
    pub size: u64,
    /// The name the download suggests (`avisa-….redb.zst`).
    pub name: String,
}

/// Makes a backup for user `by` and opens it for reading.
pub async fn stage_backup(state: &AppState, by: u64) -> Result<StagedBackup, DbError> {
    let name = backup_file_name(state.clock.now());
    let (file, size) = state
        .run(move |db| {
            let dir = db
                .path()
                .parent()
                .expect("the data file is inside the data directory")
                .to_path_buf();
            let staged = dir.join(format!(".download-{}.redb.zst", &random_token()[..16]));
            db.backup_to(&staged)?;
            let file = std::fs::File::open(&staged).map_err(DbError::Io);
            let _ = std::fs::remove_file(&staged);
            let file = file?;
            let size = file.metadata().map_err(DbError::Io)?.len();
            Ok((file, size))
        })
        .await?;
    tracing::info!(by, bytes = size, "backup downloaded");
    Ok(StagedBackup { file, size, name })
}
