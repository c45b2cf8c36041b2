//! The data directory and file on disk: created private (directory 0700, file 0600), and when
//! that is refused, an error that says which path, who owns it and which owner avisa needs (the
//! usual cause: a directory made by root, e.g. a bind-mounted folder in a container).

use std::fmt;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::DbError;

pub(super) fn create_private_dir(dir: &Path) -> Result<(), DbError> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| refused(dir, dir, "create it", e))?;
    }
    let meta = std::fs::metadata(dir).map_err(DbError::Io)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| refused(dir, dir, "make it private (mode 0700)", e))?;
    }
    Ok(())
}

pub(super) fn create_private_file(dir: &Path, path: &Path) -> Result<(), DbError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| refused(dir, dir, "create or open its data file", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| refused(dir, path, "make the data file private (mode 0600)", e))?;
    Ok(())
}

/// A permission error becomes an [`AccessRefused`] (inside `DbError::Io`, so callers and the
/// error table see the same variant as before); any other error passes through unchanged.
fn refused(dir: &Path, subject: &Path, action: &'static str, error: io::Error) -> DbError {
    if error.kind() != io::ErrorKind::PermissionDenied {
        return DbError::Io(error);
    }
    let refusal = AccessRefused {
        dir: dir.to_path_buf(),
        action,
        owner: owner_of(subject),
        process: process_ids(),
        error,
    };
    DbError::Io(io::Error::new(io::ErrorKind::PermissionDenied, refusal))
}

/// Why this process may not use the data directory, and what would fix it.
#[derive(Debug)]
pub struct AccessRefused {
    pub dir: PathBuf,
    pub action: &'static str,
    /// uid and gid of the path (or of its nearest existing parent) that refused.
    pub owner: Option<(u32, u32)>,
    /// effective uid and gid of this process.
    pub process: Option<(u32, u32)>,
    pub error: io::Error,
}

impl fmt::Display for AccessRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.dir.display();
        write!(f, "{dir}: cannot {}: {}. ", self.action, self.error)?;
        match (self.owner, self.process) {
            (Some((owner, _)), Some((uid, gid))) => write!(
                f,
                "It belongs to uid {owner} and avisa runs as uid {uid}: the directory must belong \
                 to uid {uid} (chown -R {uid}:{gid} {dir})"
            ),
            _ => write!(
                f,
                "The directory must belong to the user avisa runs as (chown -R USER {dir})"
            ),
        }
    }
}

impl std::error::Error for AccessRefused {}

/// Owner of `path`, or of its nearest existing parent when it does not exist yet.
fn owner_of(path: &Path) -> Option<(u32, u32)> {
    path.ancestors()
        .find_map(|p| std::fs::metadata(p).ok())
        .map(|m| (m.uid(), m.gid()))
}

/// This process's effective uid and gid, from `/proc/self/status` (the code forbids `unsafe`,
/// so no `geteuid`).
fn process_ids() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let effective = |key: &str| -> Option<u32> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(2)?.parse().ok()
    };
    Some((effective("Uid:")?, effective("Gid:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(owner: Option<(u32, u32)>, process: Option<(u32, u32)>) -> String {
        AccessRefused {
            dir: PathBuf::from("/data"),
            action: "make it private (mode 0700)",
            owner,
            process,
            error: io::Error::from_raw_os_error(1),
        }
        .to_string()
    }

    #[test]
    fn a_refused_directory_names_the_path_its_owner_and_the_owner_avisa_needs() {
        assert_eq!(
            refusal(Some((0, 0)), Some((65532, 65532))),
            "/data: cannot make it private (mode 0700): Operation not permitted (os error 1). \
             It belongs to uid 0 and avisa runs as uid 65532: the directory must belong to uid \
             65532 (chown -R 65532:65532 /data)"
        );
    }

    #[test]
    fn without_the_ids_the_message_still_says_what_to_do() {
        assert_eq!(
            refusal(None, None),
            "/data: cannot make it private (mode 0700): Operation not permitted (os error 1). \
             The directory must belong to the user avisa runs as (chown -R USER /data)"
        );
    }

    #[test]
    fn this_process_ids_are_read() {
        let (uid, _) = process_ids().expect("/proc/self/status");
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("mine");
        std::fs::write(&file, b"").expect("write");
        assert_eq!(owner_of(&file).map(|(u, _)| u), Some(uid));
    }

    #[test]
    fn a_missing_path_reports_the_owner_of_its_nearest_parent() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let parent = std::fs::metadata(tmp.path()).expect("meta");
        assert_eq!(
            owner_of(&tmp.path().join("a/b/c")),
            Some((parent.uid(), parent.gid()))
        );
    }
}
