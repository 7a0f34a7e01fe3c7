//! Minting a pass for a parent's activated voucher, and the per-voucher rate limit.
//!
//! A pass is valid from the moment it is minted until the end of the current service day
//! (Astana time), and never beyond the voucher's last day. The rate limit keeps a stolen
//! token or a stuck client from minting thousands of passes for one child; its counts live
//! in the store (`mint_windows`), so they outlive the process: on PostgreSQL every mint is
//! counted there (several processes share the allowance); on SQLite, whose file one process
//! owns, they are counted in memory and stored behind (`mint_memory`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use shared::pass::{KeyError, PassClaims, PassSigner};
use shared::time::{end_of_service_day, service_day};
use shared::VoucherId;
use time::{Duration, OffsetDateTime};

use super::mint_memory::MemoryCounts;
use crate::domain::voucher::Voucher;
use crate::store::{Backend, MintLimitStore, Store, StoreError};

/// A minted pass and its validity window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedPass {
    pub text: String,
    pub valid_from: OffsetDateTime,
    pub valid_until: OffsetDateTime,
}

/// Signs a pass for an activated voucher (the caller has checked the state and ownership).
pub fn mint(
    signer: &PassSigner,
    voucher: &Voucher,
    now: OffsetDateTime,
) -> Result<MintedPass, KeyError> {
    // Whole seconds: the payload carries unix seconds, and the window should say what the
    // pass says.
    let valid_from = now.replace_nanosecond(0).unwrap_or(now);
    let end_of_today = end_of_service_day(service_day(now));
    let end_of_voucher = end_of_service_day(voucher.valid_until);
    let valid_until = end_of_today.min(end_of_voucher);
    let claims = PassClaims {
        voucher_id: voucher.id,
        school: voucher.school,
        valid_from,
        valid_until,
        nonce: signer.nonce()?,
    };
    Ok(MintedPass {
        text: signer.mint(&claims)?,
        valid_from,
        valid_until,
    })
}

/// At most `limit` passes per voucher in each fixed window of `window`, counted in the store
/// so that a restart forgets nothing and several server processes on one database share the
/// one allowance. Windows are aligned on the Unix epoch (a 600 s window starts at :00, :10, …),
/// so every process computes the same window from its clock.
#[derive(Debug)]
pub struct MintLimiter {
    limit: u32,
    window: Duration,
    /// Mints counted by this process, to sweep past windows out now and then.
    counted: AtomicU64,
    /// Whether a sweep runs now (one at a time, beside the requests).
    sweeping: Arc<AtomicBool>,
    /// SQLite's counts (unused on PostgreSQL).
    memory: Arc<MemoryCounts>,
}

/// Every this many mints (and at the first) a process deletes the windows that have ended:
/// a rare indexed DELETE instead of a scheduled job that would need to know the window.
const SWEEP_EVERY: u64 = 1024;

impl MintLimiter {
    /// `limit` is at least 1 and `window` at least one second.
    pub fn new(limit: u32, window: Duration) -> Self {
        MintLimiter {
            limit: limit.max(1),
            window: window.max(Duration::SECOND),
            counted: AtomicU64::new(0),
            sweeping: Arc::default(),
            memory: Arc::default(),
        }
    }

    /// The start of the window `now` falls in.
    pub fn window_start(&self, now: OffsetDateTime) -> OffsetDateTime {
        let secs = self.window.whole_seconds();
        let start = now.unix_timestamp().div_euclid(secs) * secs;
        // In range: `start` is at most `now` and at least one window before it.
        OffsetDateTime::from_unix_timestamp(start).unwrap_or(now)
    }

    /// Counts one mint; `Ok(Err(retry_after))` when the voucher is over its limit.
    pub async fn check(
        &self,
        store: &Arc<dyn Store>,
        voucher: VoucherId,
        now: OffsetDateTime,
    ) -> Result<Result<(), Duration>, StoreError> {
        let start = self.window_start(now);
        self.sweep_now_and_then(store, start);
        let counted = match store.backend() {
            // One process owns the file: its memory is the exact count.
            Backend::Sqlite => {
                let store: Arc<dyn MintLimitStore> = store.clone();
                self.memory
                    .count(&store, voucher, start, self.limit)
                    .await?
            }
            // Several processes share the allowance: the row, locked by the upsert, counts.
            Backend::Postgres => store.count_mint(voucher, start, self.limit).await?,
        };
        Ok(if counted {
            Ok(())
        } else {
            Err(start + self.window - now)
        })
    }

    /// Stores the counts made in memory (SQLite) that are not stored yet: at a graceful stop.
    pub async fn flush(&self, store: &dyn Store) {
        self.memory.flush(store).await;
    }

    /// Stores the counts made in memory (SQLite) every `mint_memory::FLUSH_EVERY`; runs for
    /// as long as the server does (returns at once on PostgreSQL, which counts in the store).
    pub async fn run(&self, store: Arc<dyn Store>) {
        if matches!(store.backend(), Backend::Sqlite) {
            let store: Arc<dyn MintLimitStore> = store;
            self.memory.clone().run(store).await;
        }
    }

    /// Deletes the windows before `start` at this process' first mint and every
    /// [`SWEEP_EVERY`]th after, in a task of its own: a window that just ended may hold a row
    /// per voucher minted, and no mint waits for housekeeping.
    fn sweep_now_and_then(&self, store: &Arc<dyn Store>, start: OffsetDateTime) {
        let n = self.counted.fetch_add(1, Ordering::Relaxed);
        if !n.is_multiple_of(SWEEP_EVERY) || self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let (store, sweeping) = (store.clone(), self.sweeping.clone());
        tokio::spawn(async move {
            match store.forget_mint_windows(start).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(windows = n, "past mint windows deleted"),
                // Only housekeeping: the next sweep tries again.
                Err(e) => tracing::warn!(error = %e, "deleting past mint windows failed"),
            }
            sweeping.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::voucher::VoucherState;
    use crate::domain::Programme;
    use shared::pass::{verify, KeySet};
    use time::macros::{date, datetime};

    fn voucher(valid_until: time::Date) -> Voucher {
        Voucher {
            id: VoucherId::new(),
            programme: Programme::SchoolMeals,
            student: "041206500121".parse().expect("iin"),
            school: "050140001238".parse().expect("bin"),
            state: VoucherState::Activated,
            valid_from: date!(2026 - 09 - 01),
            valid_until,
            formed_at: datetime!(2026-09-01 00:00 UTC),
            activated_at: None,
            updated_at: datetime!(2026-09-01 00:00 UTC),
        }
    }

    #[test]
    fn a_pass_lasts_until_the_end_of_the_service_day() {
        let (signer, _) = PassSigner::generate().expect("key");
        let mut keys = KeySet::new();
        keys.insert(signer.public_key());
        let v = voucher(date!(2027 - 05 - 31));
        // 07:30 in Astana on 24 November.
        let now = datetime!(2026-11-24 02:30:15.75 UTC);
        let pass = mint(&signer, &v, now).expect("mint");
        assert_eq!(pass.valid_from, datetime!(2026-11-24 02:30:15 UTC));
        assert_eq!(pass.valid_until, datetime!(2026-11-24 19:00 UTC));
        let verified = verify(&pass.text, &keys, now).expect("verifies");
        assert_eq!(verified.claims.voucher_id, v.id);
        assert_eq!(verified.claims.school, v.school);
        assert!(verify(&pass.text, &keys, datetime!(2026-11-24 19:00 UTC)).is_err());
    }

    #[test]
    fn a_pass_never_outlives_its_voucher() {
        let (signer, _) = PassSigner::generate().expect("key");
        let v = voucher(date!(2026 - 11 - 23));
        let pass = mint(&signer, &v, datetime!(2026-11-23 10:00 UTC)).expect("mint");
        assert_eq!(pass.valid_until, datetime!(2026-11-23 19:00 UTC));
    }

    #[test]
    fn every_process_computes_the_same_window_from_its_clock() {
        let limiter = MintLimiter::new(3, Duration::minutes(10));
        let start = datetime!(2026-11-24 02:00 UTC);
        assert_eq!(limiter.window_start(start), start);
        assert_eq!(
            limiter.window_start(datetime!(2026-11-24 02:09:59.9 UTC)),
            start
        );
        assert_eq!(
            limiter.window_start(datetime!(2026-11-24 02:10 UTC)),
            start + Duration::minutes(10)
        );
        // A window of zero would divide by zero: it is one second.
        let tiny = MintLimiter::new(0, Duration::ZERO);
        assert_eq!(
            tiny.window_start(start + Duration::milliseconds(1500)),
            start + Duration::SECOND
        );
    }
}
