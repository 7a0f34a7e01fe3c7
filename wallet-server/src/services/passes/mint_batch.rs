//! Mints counted together on SQLite: the counts waiting at one moment go to the store in one
//! write transaction (`MintLimitStore::count_mints`), so a lunch rush pays one commit (one
//! fsync, under the one write lock) per batch instead of one per pass. Measured: one count
//! per transaction, 32 at once, took ~10 ms each (writers queued on the lock and slept in
//! SQLite's busy handler); see BENCHMARKS.md. PostgreSQL needs none of this (row locks, and
//! it groups concurrent commits itself): there a batch's statements one after another were
//! slower than the same statements on many connections.
//!
//! The first count to arrive while no batch is being written starts a flusher task, which
//! takes everything waiting, writes it, answers each waiter, and goes on until nothing waits.
//! The flusher is a task of its own so that a request dropped midway (a client gone) never
//! strands the others. A failed batch answers "count yourself": each waiter then counts alone
//! and gets its own error.

use std::sync::{Arc, Mutex, MutexGuard};

use shared::VoucherId;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::store::{MintLimitStore, StoreError};

/// Most counts in one transaction.
const MAX_BATCH: usize = 256;

/// One count waiting: the window's key and where its answer goes (`None`: the batch failed).
type Waiting = (VoucherId, OffsetDateTime, oneshot::Sender<Option<bool>>);

#[derive(Debug, Default)]
struct Queue {
    waiting: Vec<Waiting>,
    flushing: bool,
}

/// Counts mints in batches; shared by all requests of a process.
#[derive(Debug, Default, Clone)]
pub struct MintCounter {
    queue: Arc<Mutex<Queue>>,
}

impl MintCounter {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere while holding the lock must not disable minting.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one mint of `voucher` in the window starting at `start` if it has room.
    pub async fn count(
        &self,
        store: Arc<dyn MintLimitStore>,
        voucher: VoucherId,
        start: OffsetDateTime,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut queue = self.lock();
            queue.waiting.push((voucher, start, tx));
            !std::mem::replace(&mut queue.flushing, true)
        };
        if lead {
            tokio::spawn(self.clone().flush(store.clone(), limit));
        }
        match rx.await {
            Ok(Some(counted)) => Ok(counted),
            // The batch failed (or its task died): count alone, for an error of our own.
            Ok(None) | Err(_) => {
                let alone = store.count_mints(&[(voucher, start)], limit).await?;
                Ok(alone.first().copied().unwrap_or(false))
            }
        }
    }

    /// Writes batches until nothing waits.
    async fn flush(self, store: Arc<dyn MintLimitStore>, limit: u32) {
        loop {
            let mut batch = {
                let mut queue = self.lock();
                if queue.waiting.is_empty() {
                    queue.flushing = false;
                    return;
                }
                let take = queue.waiting.len().min(MAX_BATCH);
                let rest = queue.waiting.split_off(take);
                std::mem::replace(&mut queue.waiting, rest)
            };
            // One order for every process: two batches on PostgreSQL never wait on each
            // other's rows in a cycle.
            batch.sort_by_key(|(voucher, start, _)| (*start, *voucher));
            let keys: Vec<_> = batch.iter().map(|(v, s, _)| (*v, *s)).collect();
            match store.count_mints(&keys, limit).await {
                Ok(counted) => {
                    for ((_, _, tx), counted) in batch.into_iter().zip(counted) {
                        let _ = tx.send(Some(counted));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, counts = keys.len(), "counting a batch of mints failed");
                    for (_, _, tx) in batch {
                        let _ = tx.send(None);
                    }
                }
            }
        }
    }
}
