//! The pass mint counts of a SQLite server: counted in memory, stored behind.
//!
//! One process owns a SQLite database (several servers need PostgreSQL; the represented-
//! voucher cache relies on the same fact), so this process' memory *is* the exact count and a
//! mint needs no database work. The database still keeps the counts for a restart: the first
//! mint of a window loads that window's stored counts (one query per window), and changed
//! counts are written every [`FLUSH_EVERY`] and at a graceful stop, through the store's
//! counts connection (`SqliteStore::counts_pool`).
//!
//! What a crash (kill -9, power cut) can forget is the counts of its last [`FLUSH_EVERY`]: a
//! voucher may then mint that many more passes in its window. The limit guards against a
//! stolen token or a stuck client minting thousands; that stays bounded. Measured in
//! BENCHMARKS.md (issue 18): the count's statement, on the SQLite worker thread, cost a mint
//! more than its signature.
//!
//! A mint whose window is older than the one in memory (its clock read just before a window
//! turned, on another request's heels) is counted in the database directly.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shared::VoucherId;
use time::OffsetDateTime;

use crate::store::{MintLimitStore, StoreError};

/// How often changed counts are stored.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct Counts {
    /// The window in memory; `None` before the first mint.
    window: Option<OffsetDateTime>,
    minted: HashMap<VoucherId, u32>,
    /// Vouchers whose count changed since the last flush.
    changed: HashSet<VoucherId>,
    /// Counts of a window that has ended, still to store.
    ended: Vec<(VoucherId, OffsetDateTime, u32)>,
}

impl Counts {
    /// Counts one mint if the voucher has room; the window must be the one in memory.
    fn count(&mut self, voucher: VoucherId, limit: u32) -> bool {
        let minted = self.minted.entry(voucher).or_insert(0);
        if *minted >= limit {
            return false;
        }
        *minted += 1;
        self.changed.insert(voucher);
        true
    }

    /// Moves to `window`, starting from its `stored` counts; the ended window's changes wait
    /// for the next flush.
    fn turn(&mut self, window: OffsetDateTime, stored: Vec<(VoucherId, u32)>) {
        if let Some(ended) = self.window {
            let changed = std::mem::take(&mut self.changed);
            self.ended.extend(
                changed
                    .into_iter()
                    .map(|v| (v, ended, self.minted.get(&v).copied().unwrap_or(0))),
            );
        }
        self.window = Some(window);
        self.minted = stored.into_iter().collect();
    }

    /// The changed counts, taken out for storing, each (voucher, window) once with its
    /// highest count: a flush that failed while the window turned puts back a count that
    /// `turn` has already moved to `ended`, and one upsert may not touch a row twice
    /// (PostgreSQL refuses it).
    fn take_changes(&mut self) -> Vec<(VoucherId, OffsetDateTime, u32)> {
        let mut out: HashMap<(VoucherId, OffsetDateTime), u32> = HashMap::new();
        let mut keep = |voucher, window, minted: u32| {
            let count = out.entry((voucher, window)).or_insert(minted);
            *count = (*count).max(minted);
        };
        for (voucher, window, minted) in std::mem::take(&mut self.ended) {
            keep(voucher, window, minted);
        }
        if let Some(window) = self.window {
            for voucher in std::mem::take(&mut self.changed) {
                keep(
                    voucher,
                    window,
                    self.minted.get(&voucher).copied().unwrap_or(0),
                );
            }
        }
        out.into_iter().map(|((v, w), n)| (v, w, n)).collect()
    }

    /// Puts back changes that could not be stored (a later count of the same key wins, as
    /// the store keeps the highest).
    fn put_back(&mut self, changes: Vec<(VoucherId, OffsetDateTime, u32)>) {
        for (voucher, window, minted) in changes {
            if Some(window) == self.window {
                self.changed.insert(voucher);
            } else {
                self.ended.push((voucher, window, minted));
            }
        }
    }
}

/// The counts of one process; shared by all its requests.
#[derive(Debug, Default)]
pub struct MemoryCounts {
    counts: Mutex<Counts>,
    /// One window load at a time.
    loading: tokio::sync::Mutex<()>,
}

/// What a count in memory found.
enum Counted {
    Yes(bool),
    /// The request's window is newer than memory's: load it.
    Newer,
    /// The request's window is older than memory's: count in the database.
    Older,
}

impl MemoryCounts {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        // A panic elsewhere while holding the lock must not disable minting.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn try_count(&self, voucher: VoucherId, window: OffsetDateTime, limit: u32) -> Counted {
        let mut counts = self.lock();
        match counts.window {
            Some(w) if w == window => Counted::Yes(counts.count(voucher, limit)),
            Some(w) if w > window => Counted::Older,
            _ => Counted::Newer,
        }
    }

    /// Counts one mint of `voucher` in the window starting at `window` if it has room.
    pub async fn count(
        &self,
        store: &Arc<dyn MintLimitStore>,
        voucher: VoucherId,
        window: OffsetDateTime,
        limit: u32,
    ) -> Result<bool, StoreError> {
        loop {
            match self.try_count(voucher, window, limit) {
                Counted::Yes(counted) => return Ok(counted),
                Counted::Older => {
                    return store.count_mint(voucher, window, limit).await;
                }
                Counted::Newer => {
                    let _one = self.loading.lock().await;
                    if matches!(self.lock().window, Some(w) if w >= window) {
                        continue;
                    }
                    let stored = store.mint_counts_in_window(window).await?;
                    self.lock().turn(window, stored);
                }
            }
        }
    }

    /// Stores the changed counts; on failure they wait for the next flush.
    pub async fn flush(&self, store: &dyn MintLimitStore) {
        let changes = self.lock().take_changes();
        if changes.is_empty() {
            return;
        }
        if let Err(e) = store.store_mint_counts(&changes).await {
            tracing::warn!(error = %e, counts = changes.len(), "could not store mint counts; retrying");
            self.lock().put_back(changes);
        }
    }

    /// Flushes every [`FLUSH_EVERY`]; runs for as long as the server does.
    pub async fn run(self: Arc<Self>, store: Arc<dyn MintLimitStore>) {
        let mut every = tokio::time::interval(FLUSH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            self.flush(store.as_ref()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn counts_up_to_the_limit_and_hands_over_what_changed_once() {
        let w0 = datetime!(2026-11-24 02:00 UTC);
        let (a, b) = (VoucherId::new(), VoucherId::new());
        let mut counts = Counts::default();
        counts.turn(w0, vec![(a, 2)]);
        assert!(counts.count(a, 3), "the stored 2 plus one");
        assert!(!counts.count(a, 3), "full");
        assert!(counts.count(b, 3));
        let mut changes = counts.take_changes();
        changes.sort_by_key(|c| c.2);
        assert_eq!(changes, [(b, w0, 1), (a, w0, 3)]);
        assert!(counts.take_changes().is_empty(), "nothing changed since");
    }

    /// Two consecutive windows, and counts in the first holding one mint of voucher `a`
    /// (under `limit`).
    fn one_mint_in_a_window(limit: u32) -> (OffsetDateTime, OffsetDateTime, VoucherId, Counts) {
        let (w0, w1) = (
            datetime!(2026-11-24 02:00 UTC),
            datetime!(2026-11-24 02:10 UTC),
        );
        let a = VoucherId::new();
        let mut counts = Counts::default();
        counts.turn(w0, Vec::new());
        assert!(counts.count(a, limit));
        (w0, w1, a, counts)
    }

    #[test]
    fn a_turned_window_keeps_its_changes_for_the_next_flush() {
        let (w0, w1, a, mut counts) = one_mint_in_a_window(1);
        counts.turn(w1, Vec::new());
        assert!(counts.count(a, 1), "a new window starts afresh");
        let mut changes = counts.take_changes();
        changes.sort_by_key(|c| c.1);
        assert_eq!(changes, [(a, w0, 1), (a, w1, 1)]);
        counts.put_back(changes);
        assert_eq!(
            counts.take_changes().len(),
            2,
            "a failed flush loses nothing"
        );
    }

    #[test]
    fn a_flush_that_failed_across_a_turn_hands_each_key_over_once() {
        let (w0, w1, a, mut counts) = one_mint_in_a_window(5);
        // A flush takes (a, w0, 1) out; while it runs, `a` mints again and the window turns.
        let in_flight = counts.take_changes();
        assert!(counts.count(a, 5));
        counts.turn(w1, Vec::new());
        // The flush fails and puts its (a, w0, 1) back beside the turn's (a, w0, 2).
        counts.put_back(in_flight);
        assert_eq!(counts.take_changes(), [(a, w0, 2)], "once, the highest");
    }
}
