//! Files that hold personal data are their owner's only: a database (and its SQLite side
//! files) is created `0600`, and one found readable by group or others is tightened before
//! anything reads it. The server and the terminal both keep their data this way.

use std::io;
use std::path::Path;

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
        if mode & 0o077 != 0 {
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
}
