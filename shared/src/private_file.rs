//! Files that hold personal data are their owner's only: a database (and its SQLite side
//! files) is created `0600`, and one found readable by group or others is tightened before
//! anything reads it; a directory for such files is created `0700`, and a server's data
//! directory found open to group or others is refused at start (its files' names and any
//! file a tool writes there would be readable). The server and the terminal both keep their
//! data this way, with the one rule of [`open_to_others`].

use std::io;
use std::path::{Path, PathBuf};

/// The one rule: a mode with any group or others bit is not owner-only.
pub fn open_to_others(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// Creates `dir` and its missing parents, each new one `0700`; an existing one is left as
/// it is.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Why a data directory cannot be used; each names the directory and what was tried.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot create the data directory {}: {source}", .path.display())]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot read the data directory {}: {source}", .path.display())]
    Inspect { path: PathBuf, source: io::Error },
    #[error("the data directory {} is not a directory", .path.display())]
    NotADirectory { path: PathBuf },
    #[error(
        "the data directory {path} is open to group or others (mode {mode:03o}) but holds \
         personal data: fix it with `chmod 700 {path}`",
        path = .path.display()
    )]
    OpenToOthers { path: PathBuf, mode: u32 },
    #[error(
        "cannot write in the data directory {} (creating {}): {source}; it must be writable \
         by the user the server runs as",
        .path.display(),
        .probe.display()
    )]
    NotWritable {
        path: PathBuf,
        probe: PathBuf,
        source: io::Error,
    },
}

/// Makes sure `dir` can hold personal data: created `0700` when missing, refused when open
/// to group or others or not writable (checked by creating and removing a file in it, so
/// the failure names the directory instead of surfacing later as a database error).
pub fn check_data_dir(dir: &Path) -> Result<(), DataDirError> {
    let path = || dir.to_path_buf();
    create_dir(dir).map_err(|source| DataDirError::Create {
        path: path(),
        source,
    })?;
    let meta = std::fs::metadata(dir).map_err(|source| DataDirError::Inspect {
        path: path(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(DataDirError::NotADirectory { path: path() });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if open_to_others(mode) {
            return Err(DataDirError::OpenToOthers { path: path(), mode });
        }
    }
    // One probe per process: servers sharing a data directory may start together.
    let probe = dir.join(format!(".write-check.{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .and_then(|_| std::fs::remove_file(&probe));
    written.map_err(|source| DataDirError::NotWritable {
        path: path(),
        probe,
        source,
    })
}

/// Makes sure `path` exists (empty when new: SQLite takes an empty file as a new database)
/// and only its owner may read or write it. Returns the mode it had when it had to be
/// tightened, so the caller can say so.
pub fn prepare(path: &Path) -> io::Result<Option<u32>> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => tighten(path),
        Err(e) => Err(e),
    }
}

/// Makes an existing file owner-only; `None` when it was already (or is absent).
pub fn tighten(path: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(meta) => meta.permissions().mode() & 0o777,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if open_to_others(mode) {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            return Ok(Some(mode));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_new_file_is_owner_only_and_a_readable_one_is_tightened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = dir.path().join("fresh.db");
        assert_eq!(prepare(&fresh).expect("prepare"), None);
        assert_eq!(mode(&fresh), 0o600);
        let old = dir.path().join("old.db");
        std::fs::write(&old, b"data").expect("write");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(prepare(&old).expect("prepare"), Some(0o644));
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read(&old).expect("read"), b"data", "content kept");
        assert_eq!(
            tighten(&dir.path().join("absent-wal")).expect("absent"),
            None
        );
    }
    #[test]
    fn a_data_dir_is_created_owner_only_and_refused_when_open_to_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = dir.path().join("a/b/data");
        check_data_dir(&fresh).expect("created");
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700, "parents too");
        assert!(!fresh.join(".write-check").exists(), "the probe is removed");
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        let refused = check_data_dir(&fresh).unwrap_err().to_string();
        assert!(
            refused.contains(&format!("chmod 700 {}", fresh.display())),
            "{refused}"
        );
        assert!(refused.contains("mode 750"), "{refused}");
        assert_eq!(mode(&fresh), 0o750, "left as it was");
        let file = dir.path().join("file");
        std::fs::write(&file, b"").expect("write");
        assert!(matches!(
            check_data_dir(&file),
            Err(DataDirError::Create { .. } | DataDirError::NotADirectory { .. })
        ));
    }
}
