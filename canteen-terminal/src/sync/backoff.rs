//! How long the sync waits after a failure: exponential from a minimum to a maximum, each
//! wait shortened by a random part of up to a quarter, so terminals of many schools that
//! lost the server together do not all come back in the same second.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// Exponential backoff with jitter. See the module docs.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Waits start at `min` and double up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            failures: 0,
        }
    }

    /// The wait before the next attempt without jitter, for `failures` failures in a row
    /// (the first failure waits `min`).
    pub fn base(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.min.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// Counts a failure and returns the wait before the next attempt; `unit` in `[0, 1]`
    /// picks where in `[3/4 · base, base]` the wait falls.
    pub fn next_wait(&mut self, unit: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let base = self.base(self.failures);
        base.mul_f64(0.75 + 0.25 * unit.clamp(0.0, 1.0))
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The server answered: start from the minimum again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A random number in `[0, 1)`, good enough for jitter (no cryptographic use).
pub fn jitter_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    hasher.write_u128(nanos);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_to_a_minute() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let schedule: Vec<u64> = (1..=9).map(|n| backoff.base(n).as_secs()).collect();
        assert_eq!(schedule, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff.base(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_a_quarter_below_the_base_and_reset_starts_over() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(backoff.next_wait(1.0), Duration::from_secs(1));
        assert_eq!(backoff.next_wait(0.0), Duration::from_millis(1500));
        for _ in 0..20 {
            let wait = backoff.next_wait(jitter_unit());
            assert!(
                wait >= Duration::from_secs(45) && wait <= Duration::from_secs(60)
                    || backoff.failures() < 8,
                "{wait:?}"
            );
            assert!(wait <= Duration::from_secs(60));
        }
        backoff.reset();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.next_wait(1.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_is_spread() {
        let units: Vec<f64> = (0..50).map(|_| jitter_unit()).collect();
        assert!(units.iter().all(|u| (0.0..1.0).contains(u)));
        let distinct = units
            .iter()
            .map(|u| (u * 1000.0) as u32)
            .collect::<std::collections::HashSet<_>>();
        assert!(distinct.len() > 25, "{distinct:?}");
    }
}
