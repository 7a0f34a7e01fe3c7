//! The key file on disk: owner-only permissions, atomic writes, a writers' lock, hex.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::{KeyRingError, MAX_FILE_BYTES};

/// Reads the key file after checking, on the open file, that only its owner can access it.
pub(super) fn read_key_file(path: &Path) -> Result<Vec<u8>, KeyRingError> {
    let read_error = |source: io::Error| KeyRingError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => KeyRingError::Missing {
            path: path.to_path_buf(),
        },
        _ => read_error(source),
    })?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(KeyRingError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    check_owner_only(path, &meta)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(KeyRingError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("it has {} bytes, far more than a key file", meta.len()),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or_default());
    file.take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok(bytes)
}

#[cfg(unix)]
pub(super) fn check_owner_only(path: &Path, meta: &fs::Metadata) -> Result<(), KeyRingError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if shared::private_file::open_to_others(mode) {
        return Err(KeyRingError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn check_owner_only(_path: &Path, _meta: &fs::Metadata) -> Result<(), KeyRingError> {
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
pub(super) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `<dir>/.<file name><suffix>`, for the lock and temporary files.
pub(super) fn sibling(path: &Path, suffix: &str) -> Result<PathBuf, KeyRingError> {
    let name = path.file_name().ok_or_else(|| KeyRingError::Write {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
    })?;
    let mut sibling = std::ffi::OsString::from(".");
    sibling.push(name);
    sibling.push(suffix);
    Ok(parent_dir(path).join(sibling))
}

/// Creates the key file's directory, owner-only, if it is missing.
pub(super) fn create_private_dir(path: &Path) -> Result<(), KeyRingError> {
    shared::private_file::create_dir(parent_dir(path)).map_err(|source| KeyRingError::Write {
        path: path.to_path_buf(),
        source,
    })
}

pub(super) fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Takes the writers' lock (released when the returned file is dropped).
pub(super) fn lock(path: &Path) -> Result<File, KeyRingError> {
    let lock_path = sibling(path, ".lock")?;
    let lock_error = |source| KeyRingError::Lock {
        path: lock_path.clone(),
        source,
    };
    let file = private_file_options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(lock_error)?;
    file.lock().map_err(lock_error)?;
    Ok(file)
}

/// Replaces the file with `bytes`: temporary file (0600) in the same directory, fsync,
/// rename, fsync of the directory. Called with the writers' lock held.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KeyRingError> {
    let tmp = sibling(path, ".tmp")?;
    let dir = parent_dir(path);
    let result = (|| -> io::Result<()> {
        // Left over by a writer that crashed; we hold the lock, so nobody else is writing.
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = private_file_options()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|source| KeyRingError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(super) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

pub(super) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

pub(super) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}
