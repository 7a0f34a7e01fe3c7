//! Pass signing keys: persisted, rotated, published.
//!
//! The server signs passes (§4 of the design) with Ed25519 keys kept in one JSON file,
//! by default `<data-dir>/pass-keys.json` (`--pass-keys-file`, `PASS_KEYS_FILE`,
//! `pass_keys_file` in the TOML file):
//!
//! ```json
//! {"version": 1, "keys": [
//!   {"kid": "1a2b3c4d", "created_at": "2026-09-01T03:00:00Z",
//!    "retired_at": "2026-10-01T03:00:00Z", "pkcs8": "3051…"},
//!   {"kid": "9f8e7d6c", "created_at": "2026-10-01T03:00:00Z", "pkcs8": "3051…"}
//! ]}
//! ```
//!
//! `pkcs8` is the hex of the key's PKCS#8 document. The newest key without `retired_at` is
//! the *current* key, the one that signs; every key in the file is trusted for verification
//! and published to terminals.
//!
//! **Protection.** The file holds private keys, so it is owner-only: written with mode 0600
//! from creation (its directory, when we create it, 0700), and a file readable or writable
//! by group or others is refused at load with the `chmod 600` that fixes it. Every write is
//! atomic (temporary file in the same directory, fsync, rename, fsync of the directory), and
//! writers (`load_or_create` creating the file, `rotate`) serialise on a lock file next to it
//! (`.pass-keys.json.lock`), so two rotations never lose a key. A corrupt file is an error,
//! never replaced: a new key set would invalidate every pass signed with the old one.
//! Key material never appears in errors, logs or `Debug` output.
//!
//! **Rotation.** [`PassKeyRing::rotate`] (the `wallet-server keys rotate` command) adds a new
//! current key and retires the previous one (`retired_at = now`). Retired keys stay trusted
//! so passes minted just before the rotation keep working. A pass lives at most until the end
//! of its service day, so one day would do; retired keys are nevertheless kept for
//! [`DEFAULT_RETENTION`] (30 days) so a terminal that was offline for a few weeks still knows
//! every key it may meet, and so that rotating twice in a row never drops a key still in use.
//! Rotation prunes keys retired more than the retention ago; loading never prunes.
//!
//! **Reload.** A running server picks up a rotation without restart: call
//! [`PassKeyRing::reload_if_changed`] periodically (it compares a SHA-256 of the file's
//! bytes, so a change is never missed because of coarse modification times), or use
//! [`SharedKeyRing`], which holds the ring behind a lock and can
//! [`spawn a reloader task`](SharedKeyRing::spawn_reloader). A reload that fails (say the file
//! was made world-readable) keeps the keys already loaded and reports the error.

mod file;
mod reloading;

use file::{create_private_dir, hex_decode, hex_encode, lock, read_key_file, write_atomically};
pub use reloading::SharedKeyRing;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use ::shared::pass::{KeyError, KeyId, KeySet, PassSigner, PublicKey};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

/// Version of the key file format this server reads and writes.
pub const FILE_VERSION: u64 = 1;
/// Name of the key file inside the data directory when no path is configured.
pub const DEFAULT_FILE_NAME: &str = "pass-keys.json";
/// How long [`PassKeyRing::rotate`] keeps a retired key trusted.
pub const DEFAULT_RETENTION: Duration = Duration::days(30);
/// A key file larger than this is not one of ours.
pub(super) const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why the key file cannot be used. Messages name the file, never key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error(
        "pass key file {} does not exist (the server creates it at first start, \
         or run `wallet-server keys rotate`)",
        .path.display()
    )]
    Missing { path: PathBuf },
    #[error("cannot read pass key file {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("pass key file {} is not a regular file", .path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "pass key file {path} is accessible by group or others (mode {mode:03o}) but holds \
         private signing keys: fix it with `chmod 600 {path}`",
        path = .path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error(
        "pass key file {} is corrupt: {reason}; it was left untouched: restore it from a \
         backup (replacing it would invalidate every pass signed with its keys)",
        .path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "pass key file {} has format version {version}; this server reads version {FILE_VERSION}",
        .path.display()
    )]
    UnsupportedVersion { path: PathBuf, version: u64 },
    #[error(
        "pass key file {} has no current key (every key is retired): run \
         `wallet-server keys rotate` to add one",
        .path.display()
    )]
    NoCurrentKey { path: PathBuf },
    #[error("cannot write pass key file {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot lock {}: {source}", .path.display())]
    Lock { path: PathBuf, source: io::Error },
    #[error("cannot generate a pass signing key: {0}")]
    Generate(#[source] KeyError),
}

/// What is known about one key, without its private part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: KeyId,
    pub created_at: OffsetDateTime,
    /// When a rotation replaced it; `None` for the current key.
    pub retired_at: Option<OffsetDateTime>,
    /// Whether this is the key that signs new passes.
    pub current: bool,
}

/// The outcome of a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new current key.
    pub kid: KeyId,
    /// The key it replaced, if there was one.
    pub previous: Option<KeyId>,
    /// Keys dropped because they were retired more than the retention ago.
    pub pruned: Vec<KeyId>,
    /// How many keys the file holds now, the new one included.
    pub kept: usize,
}

/// The file, as stored. No `Debug`: it holds private keys.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u64,
    keys: Vec<StoredKey>,
}

/// Read first, so a newer format is reported as such rather than as unknown fields.
#[derive(Deserialize)]
struct VersionProbe {
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    kid: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    retired_at: Option<OffsetDateTime>,
    /// Hex of the PKCS#8 document.
    pkcs8: String,
}

struct Entry {
    info: KeyInfo,
    signer: PassSigner,
}

/// A validated key file.
struct Parsed {
    file: KeyFile,
    entries: Vec<Entry>,
    /// Index of the current key, if any key is not retired.
    current: Option<usize>,
}

/// The server's pass signing keys: the current one signs, all of them verify.
pub struct PassKeyRing {
    /// Ordered by creation time, oldest first.
    entries: Vec<Entry>,
    current: usize,
    /// SHA-256 of the file bytes this ring was loaded from.
    fingerprint: [u8; 32],
}

impl fmt::Debug for PassKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<KeyId> = self.entries.iter().map(|e| e.info.kid).collect();
        f.debug_struct("PassKeyRing")
            .field("current", &self.entries[self.current].info.kid)
            .field("keys", &kids)
            .finish_non_exhaustive()
    }
}

impl PassKeyRing {
    /// Loads the key file, creating it with one fresh key if it does not exist. A file that
    /// exists but cannot be used (permissions, corruption) is an error and is left as it is.
    pub fn load_or_create(path: &Path, now: OffsetDateTime) -> Result<PassKeyRing, KeyRingError> {
        match Self::load(path) {
            Err(KeyRingError::Missing { .. }) => {}
            other => return other,
        }
        create_private_dir(path)?;
        let _lock = lock(path)?;
        // Another process may have created it while we waited for the lock.
        match Self::load(path) {
            Err(KeyRingError::Missing { .. }) => {}
            other => return other,
        }
        let (key, _) = new_key(now, &[])?;
        let file = KeyFile {
            version: FILE_VERSION,
            keys: vec![key],
        };
        let bytes = serialize(path, &file)?;
        let ring = Self::from_bytes(path, &bytes)?;
        write_atomically(path, &bytes)?;
        Ok(ring)
    }

    /// Loads an existing key file.
    pub fn load(path: &Path) -> Result<PassKeyRing, KeyRingError> {
        let bytes = read_key_file(path)?;
        Self::from_bytes(path, &bytes)
    }

    /// The key that signs new passes.
    pub fn current(&self) -> &PassSigner {
        &self.entries[self.current].signer
    }

    /// The public keys of every key kept, current and retired: what verifies passes.
    pub fn key_set(&self) -> KeySet {
        let mut set = KeySet::new();
        for entry in &self.entries {
            set.insert(entry.signer.public_key());
        }
        set
    }

    /// The public keys of every key kept, in the form terminals receive, ordered by key id.
    pub fn published(&self) -> Vec<PublicKey> {
        self.key_set().published()
    }

    /// Every key kept, oldest first.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.entries.iter().map(|e| e.info.clone()).collect()
    }

    /// Re-reads the file and, if its content changed, replaces this ring with it. Returns
    /// whether it changed. On error the ring keeps the keys it had.
    pub fn reload_if_changed(&mut self, path: &Path) -> Result<bool, KeyRingError> {
        match Self::load_if_changed(path, &self.fingerprint)? {
            Some(ring) => {
                *self = ring;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The keys in the file at `path`, oldest first.
    pub fn list(path: &Path) -> Result<Vec<KeyInfo>, KeyRingError> {
        Ok(Self::load(path)?.keys())
    }

    /// Adds a new current key, retires the previous one and prunes keys retired more than
    /// [`DEFAULT_RETENTION`] ago. Creates the file if it does not exist.
    pub fn rotate(path: &Path, now: OffsetDateTime) -> Result<KeyId, KeyRingError> {
        Ok(Self::rotate_with_retention(path, now, DEFAULT_RETENTION)?.kid)
    }

    /// [`rotate`](Self::rotate) with a chosen retention: keys retired more than `retention`
    /// before `now` are pruned. The key retired by this rotation is always kept.
    pub fn rotate_with_retention(
        path: &Path,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<Rotation, KeyRingError> {
        let now = utc_seconds(now);
        create_private_dir(path)?;
        let _lock = lock(path)?;
        let (mut keys, previous) = match read_key_file(path) {
            Ok(bytes) => {
                let parsed = parse(path, &bytes)?;
                let previous = parsed.current.map(|i| parsed.entries[i].info.kid);
                (parsed.file.keys, previous)
            }
            Err(KeyRingError::Missing { .. }) => (Vec::new(), None),
            Err(e) => return Err(e),
        };
        for key in keys.iter_mut().filter(|k| k.retired_at.is_none()) {
            key.retired_at = Some(now);
        }
        let mut pruned = Vec::new();
        keys.retain(|key| {
            let keep = key.retired_at.is_none_or(|r| now - r <= retention);
            if !keep {
                // Validated by `parse` above.
                if let Ok(kid) = key.kid.parse() {
                    pruned.push(kid);
                }
            }
            keep
        });
        let (key, kid) = new_key(now, &keys)?;
        keys.push(key);
        let file = KeyFile {
            version: FILE_VERSION,
            keys,
        };
        let bytes = serialize(path, &file)?;
        // Never write a file we could not read back.
        parse(path, &bytes)?;
        write_atomically(path, &bytes)?;
        Ok(Rotation {
            kid,
            previous,
            pruned,
            kept: file.keys.len(),
        })
    }

    fn from_bytes(path: &Path, bytes: &[u8]) -> Result<PassKeyRing, KeyRingError> {
        let mut entries = parse(path, bytes)?.entries;
        entries.sort_by_key(|e| e.info.created_at);
        let current = entries.iter().position(|e| e.info.current).ok_or_else(|| {
            KeyRingError::NoCurrentKey {
                path: path.to_path_buf(),
            }
        })?;
        Ok(PassKeyRing {
            entries,
            current,
            fingerprint: fingerprint(bytes),
        })
    }

    /// The ring in the file if its bytes differ from `fingerprint`.
    fn load_if_changed(
        path: &Path,
        fingerprint_now: &[u8; 32],
    ) -> Result<Option<PassKeyRing>, KeyRingError> {
        let bytes = read_key_file(path)?;
        if fingerprint(&bytes) == *fingerprint_now {
            return Ok(None);
        }
        Self::from_bytes(path, &bytes).map(Some)
    }
}

fn new_key(
    now: OffsetDateTime,
    existing: &[StoredKey],
) -> Result<(StoredKey, KeyId), KeyRingError> {
    loop {
        let (signer, pkcs8) = PassSigner::generate().map_err(KeyRingError::Generate)?;
        let kid = signer.kid();
        // Key ids are 32 bits: a clash is unlikely, and would make one key unverifiable.
        if existing.iter().any(|k| k.kid == kid.to_string()) {
            continue;
        }
        let key = StoredKey {
            kid: kid.to_string(),
            created_at: utc_seconds(now),
            retired_at: None,
            pkcs8: hex_encode(&pkcs8),
        };
        return Ok((key, kid));
    }
}

fn utc_seconds(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t - Duration::nanoseconds(i64::from(t.nanosecond()))
}

fn fingerprint(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Checks the file's structure and every key in it.
fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed, KeyRingError> {
    let corrupt = |reason: String| KeyRingError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| corrupt(json_error(&e)))?;
    if probe.version != FILE_VERSION {
        return Err(KeyRingError::UnsupportedVersion {
            path: path.to_path_buf(),
            version: probe.version,
        });
    }
    let file: KeyFile = serde_json::from_slice(bytes).map_err(|e| corrupt(json_error(&e)))?;
    if file.keys.is_empty() {
        return Err(corrupt("it lists no keys".into()));
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(file.keys.len());
    for (i, key) in file.keys.iter().enumerate() {
        let n = i + 1;
        let stated: KeyId = key
            .kid
            .parse()
            .map_err(|_| corrupt(format!("key {n}: kid is not 8 hex digits")))?;
        let pkcs8 = hex_decode(&key.pkcs8)
            .ok_or_else(|| corrupt(format!("key {n} ({stated}): pkcs8 is not hex")))?;
        let signer = PassSigner::from_pkcs8(&pkcs8).map_err(|_| {
            corrupt(format!(
                "key {n} ({stated}): pkcs8 is not an Ed25519 PKCS#8 document"
            ))
        })?;
        if signer.kid() != stated {
            return Err(corrupt(format!(
                "key {n}: kid {stated} does not match its private key (whose kid is {})",
                signer.kid()
            )));
        }
        if entries.iter().any(|e| e.info.kid == stated) {
            return Err(corrupt(format!("key {stated} appears twice")));
        }
        entries.push(Entry {
            info: KeyInfo {
                kid: stated,
                created_at: key.created_at,
                retired_at: key.retired_at,
                current: false,
            },
            signer,
        });
    }
    // The newest key not retired; on equal times the later one in the file.
    let current = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.info.retired_at.is_none())
        .max_by_key(|(i, e)| (e.info.created_at, *i))
        .map(|(i, _)| i);
    if let Some(i) = current {
        entries[i].info.current = true;
    }
    Ok(Parsed {
        file,
        entries,
        current,
    })
}

/// Describes a JSON error without echoing values from the file, which could be key material.
fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof => format!("not valid JSON (at {at})"),
        Category::Io => format!("unreadable ({at})"),
        Category::Data => {
            let message = e.to_string();
            if message.contains("string \"") {
                format!("unexpected value at {at}")
            } else {
                message
            }
        }
    }
}

fn serialize(path: &Path, file: &KeyFile) -> Result<Vec<u8>, KeyRingError> {
    let mut bytes = serde_json::to_vec_pretty(file).map_err(|e| KeyRingError::Write {
        path: path.to_path_buf(),
        source: io::Error::other(e.to_string()),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests;
