//! A short-lived cache of `represented_voucher` (parent + voucher id → the voucher), the one
//! lookup every pass mint makes: a phone refreshing its pass asks the same question again
//! and again within seconds.
//!
//! Exactness comes from invalidation, not from the TTL: the store's own writes that change a
//! voucher or a representation forget what they touched once committed (in this process),
//! and on PostgreSQL a trigger's `NOTIFY` tells every process (`postgres/facts_listener.rs`).
//! A read that raced a write is never kept: every invalidation bumps a generation, and a fill
//! whose read began before the latest bump is dropped. The TTL only bounds what a missed
//! invalidation could cost. While the cache is not `live` (PostgreSQL's listener is down) it
//! answers nothing and keeps nothing. Time-bound facts (validity, state) are judged by the
//! caller against its clock on every hit; the cache holds facts, never verdicts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use shared::{Iin, VoucherId};

use crate::domain::voucher::Voucher;

/// How long a cached answer may serve at most. Long enough for a phone's mints of one
/// sitting (open, show, refresh) and for a morning's round of thousands of parents to come
/// back to warm entries; exactness never rests on it (every change invalidates at once, on
/// PostgreSQL even a change made by hand in `psql`, through the trigger). At 5 s, a server
/// minting 2,500 passes a second for 40,000 children found nothing warm (BENCHMARKS.md).
pub const TTL: Duration = Duration::from_secs(30);

/// Most vouchers held; past it, expired ones go, and if that is not enough, all.
const MAX_VOUCHERS: usize = 100_000;

struct Entry {
    voucher: Voucher,
    /// Parents whose representation was read since `filled` (usually one or two).
    parents: Vec<Iin>,
    filled: Instant,
}

/// The cache; one per store (every clone of a store shares it).
pub struct FactsCache {
    entries: Mutex<HashMap<VoucherId, Entry>>,
    generation: AtomicU64,
    live: AtomicBool,
    /// Answers given from memory (for tests and benches to see that it answers at all).
    hits: AtomicU64,
}

impl std::fmt::Debug for FactsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactsCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A ticket taken before a database read, to fill the cache with its answer afterwards.
#[derive(Debug, Clone, Copy)]
pub struct FillTicket(u64);

impl FactsCache {
    /// `live`: whether it may answer from the start (SQLite: yes; PostgreSQL: once its
    /// listener listens).
    pub fn new(live: bool) -> Self {
        FactsCache {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            live: AtomicBool::new(live),
            hits: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<VoucherId, Entry>> {
        // A panic elsewhere while holding the lock leaves a map that is still a valid cache.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The voucher as last read for this parent, if that read is fresh and nothing changed.
    pub fn get(&self, id: VoucherId, parent: Iin) -> Option<Voucher> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.lock();
        let entry = entries.get(&id)?;
        let fresh = entry.filled.elapsed() < TTL && entry.parents.contains(&parent);
        fresh.then(|| {
            self.hits.fetch_add(1, Ordering::Relaxed);
            entry.voucher.clone()
        })
    }

    /// How many lookups were answered from memory so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Taken before reading the database; `None` when the answer must not be kept.
    pub fn ticket(&self) -> Option<FillTicket> {
        self.live
            .load(Ordering::Acquire)
            .then(|| FillTicket(self.generation.load(Ordering::Acquire)))
    }

    /// Keeps `voucher` as `parent`'s, unless anything was invalidated since `ticket`.
    pub fn fill(&self, ticket: FillTicket, parent: Iin, voucher: &Voucher) {
        let mut entries = self.lock();
        // Checked under the lock: invalidations bump the generation holding it too.
        if self.generation.load(Ordering::Acquire) != ticket.0 || !self.live.load(Ordering::Acquire)
        {
            return;
        }
        let now = Instant::now();
        if entries.len() >= MAX_VOUCHERS && !entries.contains_key(&voucher.id) {
            entries.retain(|_, e| now.duration_since(e.filled) < TTL);
            if entries.len() >= MAX_VOUCHERS {
                entries.clear();
            }
        }
        let entry = entries.entry(voucher.id).or_insert_with(|| Entry {
            voucher: voucher.clone(),
            parents: Vec::new(),
            filled: now,
        });
        if now.duration_since(entry.filled) >= TTL || entry.voucher != *voucher {
            *entry = Entry {
                voucher: voucher.clone(),
                parents: Vec::new(),
                filled: now,
            };
        }
        if !entry.parents.contains(&parent) {
            entry.parents.push(parent);
        }
    }

    /// These vouchers changed (state, dates, school, student) or lost a representative.
    pub fn forget(&self, ids: impl IntoIterator<Item = VoucherId>) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        for id in ids {
            entries.remove(&id);
        }
    }

    /// Anything may have changed: forget everything.
    pub fn forget_all(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Whether the cache may answer: off while changes could be missed (forgets all both
    /// ways, so nothing from before a gap is served after it).
    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
        self.forget_all();
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::voucher::VoucherState;
    use crate::domain::Programme;
    use time::macros::{date, datetime};

    fn voucher() -> Voucher {
        Voucher {
            id: VoucherId::new(),
            programme: Programme::SchoolMeals,
            student: "041206500121".parse().expect("iin"),
            school: "050140001238".parse().expect("bin"),
            state: VoucherState::Activated,
            valid_from: date!(2026 - 09 - 01),
            valid_until: date!(2027 - 05 - 31),
            formed_at: datetime!(2026-09-01 00:00 UTC),
            activated_at: None,
            updated_at: datetime!(2026-09-01 00:00 UTC),
        }
    }

    fn parent() -> Iin {
        "880512412342".parse().expect("iin")
    }

    #[test]
    fn answers_only_the_parent_it_read_for() {
        let cache = FactsCache::new(true);
        let v = voucher();
        let ticket = cache.ticket().expect("live");
        cache.fill(ticket, parent(), &v);
        assert_eq!(cache.get(v.id, parent()), Some(v.clone()));
        let other: Iin = "041206500121".parse().expect("iin");
        assert_eq!(cache.get(v.id, other), None);
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_kept() {
        let cache = FactsCache::new(true);
        let v = voucher();
        let ticket = cache.ticket().expect("live");
        // A write commits while the read is under way.
        cache.forget([VoucherId::new()]);
        cache.fill(ticket, parent(), &v);
        assert_eq!(cache.get(v.id, parent()), None);
    }

    #[test]
    fn forgetting_and_going_dark_empty_it() {
        let cache = FactsCache::new(true);
        let v = voucher();
        cache.fill(cache.ticket().expect("live"), parent(), &v);
        cache.forget([v.id]);
        assert_eq!(cache.get(v.id, parent()), None);
        cache.fill(cache.ticket().expect("live"), parent(), &v);
        cache.set_live(false);
        assert!(cache.ticket().is_none());
        assert_eq!(cache.get(v.id, parent()), None);
        cache.set_live(true);
        assert_eq!(
            cache.get(v.id, parent()),
            None,
            "nothing from before the gap"
        );
    }
}
