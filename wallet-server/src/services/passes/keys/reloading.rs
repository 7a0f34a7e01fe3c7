//! [`SharedKeyRing`]: the key ring behind a lock, reloaded while the server runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use time::OffsetDateTime;

use super::{KeyRingError, PassKeyRing};

/// A [`PassKeyRing`] shared by the server's tasks, reloadable while they use it.
///
/// Cheap to clone. Readers take [`read`](Self::read) for a moment (mint, build a key set) and
/// must not hold the guard across an `.await`; a reload reads and checks the file outside the
/// lock and only swaps the ring under it.
#[derive(Clone)]
pub struct SharedKeyRing {
    ring: Arc<RwLock<PassKeyRing>>,
    path: Arc<PathBuf>,
}

impl fmt::Debug for SharedKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKeyRing")
            .field("path", &self.path)
            .field("ring", &*self.read())
            .finish()
    }
}

impl SharedKeyRing {
    /// [`PassKeyRing::load_or_create`], shared.
    pub fn load_or_create(path: &Path, now: OffsetDateTime) -> Result<Self, KeyRingError> {
        Ok(Self::new(PassKeyRing::load_or_create(path, now)?, path))
    }

    /// Shares a ring loaded from `path`.
    pub fn new(ring: PassKeyRing, path: &Path) -> Self {
        SharedKeyRing {
            ring: Arc::new(RwLock::new(ring)),
            path: Arc::new(path.to_path_buf()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ring as it is now. Hold the guard briefly, never across an `.await`.
    pub fn read(&self) -> RwLockReadGuard<'_, PassKeyRing> {
        // A panic while holding the write lock cannot leave a half-swapped ring.
        self.ring.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads the file and swaps in its keys if it changed; returns whether it did.
    /// On error the keys already loaded stay in use.
    pub fn reload_if_changed(&self) -> Result<bool, KeyRingError> {
        let fingerprint_now = self.read().fingerprint;
        match PassKeyRing::load_if_changed(&self.path, &fingerprint_now)? {
            Some(ring) => {
                *self.ring.write().unwrap_or_else(PoisonError::into_inner) = ring;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Spawns a task (on the current Tokio runtime) that checks the file every `every` and
    /// reloads it when it changed, logging reloads at info and failures at warn (once per
    /// distinct error, not at every tick). Abort the returned handle to stop it.
    pub fn spawn_reloader(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let shared = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate; the ring is fresh
            let mut last_error: Option<String> = None;
            loop {
                tick.tick().await;
                let task = shared.clone();
                let outcome = tokio::task::spawn_blocking(move || task.reload_if_changed()).await;
                match outcome {
                    Ok(Ok(changed)) => {
                        if changed {
                            let ring = shared.read();
                            tracing::info!(
                                current = %ring.current().kid(),
                                keys = ring.entries.len(),
                                "pass keys reloaded"
                            );
                        } else if last_error.is_some() {
                            tracing::info!("pass key file readable again");
                        }
                        last_error = None;
                    }
                    Ok(Err(e)) => {
                        let message = e.to_string();
                        if last_error.as_deref() != Some(message.as_str()) {
                            tracing::warn!(error = %message, "cannot reload pass keys; keeping the keys loaded");
                            last_error = Some(message);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "pass key reload task failed"),
                }
            }
        })
    }
}
