//! Minting a pass for a parent's activated voucher, and the per-voucher rate limit.
//!
//! A pass is valid from the moment it is minted until the end of the current service day
//! (Astana time), and never beyond the voucher's last day. The rate limit keeps a stolen
//! token or a stuck client from minting thousands of passes for one child.

use std::collections::HashMap;
use std::sync::Mutex;

use shared::pass::{KeyError, PassClaims, PassSigner};
use shared::time::{end_of_service_day, service_day};
use shared::VoucherId;
use time::{Duration, OffsetDateTime};

use crate::domain::voucher::Voucher;

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

/// At most `limit` passes per voucher in any fixed window of `window`.
#[derive(Debug)]
pub struct MintLimiter {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<VoucherId, (OffsetDateTime, u32)>>,
}

/// Entries kept before stale windows are swept out.
const SWEEP_AT: usize = 100_000;

impl MintLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        MintLimiter {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one mint; `Err(retry_after)` when the voucher is over its limit.
    pub fn check(&self, voucher: VoucherId, now: OffsetDateTime) -> Result<(), Duration> {
        let mut counts = match self.counts.lock() {
            Ok(guard) => guard,
            // A panic elsewhere while holding the lock must not disable minting.
            Err(poisoned) => poisoned.into_inner(),
        };
        if counts.len() >= SWEEP_AT {
            let window = self.window;
            counts.retain(|_, (start, _)| now - *start < window);
        }
        let entry = counts.entry(voucher).or_insert((now, 0));
        if now - entry.0 >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return Err(entry.0 + self.window - now);
        }
        entry.1 += 1;
        Ok(())
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
    fn the_limiter_allows_the_limit_then_says_when_to_retry() {
        let limiter = MintLimiter::new(3, Duration::minutes(10));
        let id = VoucherId::new();
        let other = VoucherId::new();
        let t0 = datetime!(2026-11-24 02:00 UTC);
        for _ in 0..3 {
            limiter.check(id, t0).expect("under the limit");
        }
        let retry = limiter.check(id, t0 + Duration::minutes(4)).unwrap_err();
        assert_eq!(retry, Duration::minutes(6));
        limiter
            .check(other, t0)
            .expect("other vouchers are not affected");
        limiter
            .check(id, t0 + Duration::minutes(10))
            .expect("a new window");
    }
}
