//! Telling systemd how a service is doing (`Type=notify` with `WatchdogSec=`): both binaries
//! run as such services from their Debian packages, and systemd restarts one whose main loop
//! stops answering. Every call is a no-op when systemd did not ask for it (no `NOTIFY_SOCKET`,
//! no `WATCHDOG_USEC`), so a binary started by hand or by a test behaves as before.

use std::io;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// `READY=1`: start-up is over (the server listens, the terminal reads its devices).
pub fn ready() -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Ready])
}

/// `STOPPING=1`: a clean shutdown has begun, so systemd does not count the quiet as a hang.
pub fn stopping() -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Stopping])
}

/// The watchdog systemd armed for this process. It is pinged at half its timeout (as
/// `sd_watchdog_enabled(3)` advises), and only by the loop whose liveness it vouches for:
/// a stuck loop then misses its pings and systemd restarts the service.
#[derive(Debug, Clone)]
pub struct Watchdog {
    every: Duration,
    last: Option<Instant>,
}

impl Watchdog {
    /// The watchdog systemd asked for (`WATCHDOG_USEC`, for this process's `WATCHDOG_PID`),
    /// if any.
    pub fn from_env() -> Option<Self> {
        sd_notify::watchdog_enabled()
            .filter(|timeout| !timeout.is_zero())
            .map(|timeout| Self::every(timeout / 2))
    }

    /// A watchdog pinged every `every` (the first ping is due at once).
    pub fn every(every: Duration) -> Self {
        Self { every, last: None }
    }

    /// The time between pings.
    pub fn interval(&self) -> Duration {
        self.every
    }

    /// How long the owning loop may wait at `now` before the next ping is due (zero when it
    /// is due already).
    pub fn until_due(&self, now: Instant) -> Duration {
        self.last.map_or(Duration::ZERO, |last| {
            self.every
                .saturating_sub(now.saturating_duration_since(last))
        })
    }

    /// Sends `WATCHDOG=1` now.
    pub fn ping(&mut self) -> io::Result<()> {
        sd_notify::notify(&[NotifyState::Watchdog])?;
        self.last = Some(Instant::now());
        Ok(())
    }

    /// Sends `WATCHDOG=1` when due; `Ok(true)` when it did.
    pub fn ping_if_due(&mut self) -> io::Result<bool> {
        if !self.until_due(Instant::now()).is_zero() {
            return Ok(false);
        }
        self.ping().map(|()| true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_is_due_at_once_then_once_per_interval() {
        let mut dog = Watchdog::every(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(
            dog.until_due(start),
            Duration::ZERO,
            "the first ping is due at once"
        );
        dog.last = Some(start);
        let after = |secs| dog.until_due(start + Duration::from_secs(secs));
        assert_eq!(after(4), Duration::from_secs(6));
        assert_eq!(after(10), Duration::ZERO);
        assert_eq!(after(25), Duration::ZERO, "late is due, not negative");
        assert_eq!(dog.interval(), Duration::from_secs(10));
    }

    #[test]
    fn pinging_without_systemd_is_a_quiet_no_op() {
        // Tests do not run under systemd; NOTIFY_SOCKET is unset, so nothing is sent, yet the
        // ping counts as done (the binaries behave the same by hand and under systemd).
        if std::env::var_os("NOTIFY_SOCKET").is_some() {
            return;
        }
        let mut dog = Watchdog::every(Duration::from_secs(3600));
        assert!(dog.ping_if_due().expect("no-op"));
        assert!(!dog.ping_if_due().expect("no-op"), "not due again yet");
        ready().expect("no-op");
        stopping().expect("no-op");
    }
}
