//! The sync with the wallet server (DESIGN §5), on its own thread so scanning never waits
//! for the network.
//!
//! One [`Syncer::cycle`]: enroll if needed (once, with the `--enroll` code), push every
//! unsent meal oldest first in batches (each answered meal leaves the queue with the
//! server's verdict; a batch without an answer stays queued and goes again with the same
//! event ids), then pull the roster, keys, slots and the server's time. [`spawn`] runs
//! cycles every few seconds while the server answers, backs off exponentially (with
//! jitter) while it does not, and stops for good when the server refuses the device token.
//! Every cycle ends in one [`SyncReport`] for the screen.

mod backoff;
pub mod client;
mod report;

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::sync::{EnrollRequest, MealBatch};
use shared::time::Clock;
use shared::{Bin, Label};
use time::OffsetDateTime;

pub use backoff::{jitter_unit, Backoff};
pub use client::{HttpServer, Server, ServerError};
pub use report::{Outcome, PushTally, SyncReport};

use crate::store::{DeviceToken, Store};

/// Meals per push; the server takes up to `shared::sync::MAX_BATCH`.
pub const BATCH_SIZE: usize = 500;

/// What the sync needs to know.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Base URL of the server, remembered in the database.
    pub server_url: String,
    /// The school this terminal must serve.
    pub school: Bin,
    /// One-time enrollment code, used only when the terminal has no valid token.
    pub enroll_code: Option<String>,
    /// Name sent with the enrollment.
    pub terminal_name: Option<Label>,
    /// Meals per push.
    pub batch_size: usize,
}

/// How often the loop runs.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Between cycles while the server answers.
    pub interval: Duration,
    /// First wait after a failure.
    pub backoff_min: Duration,
    /// Longest wait after failures.
    pub backoff_max: Duration,
    /// How often the server's health is asked while backing off.
    pub probe: Duration,
}

/// The sync state machine: one database connection, one server, one clock.
pub struct Syncer<S> {
    server: S,
    store: Store,
    clock: Arc<dyn Clock>,
    config: SyncConfig,
}

impl<S: Server> Syncer<S> {
    pub fn new(server: S, store: Store, clock: Arc<dyn Clock>, config: SyncConfig) -> Self {
        Self {
            server,
            store,
            clock,
            config,
        }
    }

    /// The store this syncer writes (tests look into it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// One round with the server. Never panics; every failure is an [`Outcome`].
    pub fn cycle(&mut self) -> SyncReport {
        let mut tally = PushTally::default();
        let outcome = match self.try_cycle(&mut tally) {
            Ok(outcome) => outcome,
            Err(Failure::Server(error)) => Outcome::from_error(error),
            Err(Failure::Store(error)) => Outcome::StoreFailed {
                error: error.to_string(),
            },
        };
        if outcome == Outcome::Unauthorized {
            if let Err(error) = self.store.mark_revoked(self.clock.now()) {
                tracing::error!(%error, "cannot record the revocation");
            }
        }
        let unsent = self.store.unsent_count().unwrap_or_else(|error| {
            tracing::error!(%error, "cannot count unsent meals");
            0
        });
        SyncReport {
            outcome,
            push: tally,
            unsent,
            retry_in: None,
        }
    }

    fn try_cycle(&mut self, tally: &mut PushTally) -> Result<Outcome, Failure> {
        let state = self.store.state()?;
        let token = match (
            &state.device_token,
            state.revoked_at,
            &self.config.enroll_code,
        ) {
            (Some(_), Some(_), Some(_)) | (None, _, Some(_)) => {
                return self.enroll(state.enrolled());
            }
            (Some(token), _, _) => token.clone(),
            (None, _, None) => return Ok(Outcome::NotEnrolled),
        };
        if state.server_url.as_deref() != Some(self.config.server_url.as_str()) {
            self.store.save_server_url(&self.config.server_url)?;
        }
        self.push_all(&token, tally)?;
        // Voids and denials never hold up the roster: a server that cannot take them yet
        // (an older version) leaves them queued, and the pull still happens.
        match self.push_counter(&token) {
            Ok(()) => {}
            Err(Failure::Server(error)) => {
                tracing::warn!(%error, "voids and denials not pushed; kept for later");
            }
            Err(store) => return Err(store),
        }
        self.pull(&token, state.cursor)
    }

    /// Uses the enrollment code (once: it is forgotten whatever the answer).
    fn enroll(&mut self, was_enrolled: bool) -> Result<Outcome, Failure> {
        let Some(code) = self.config.enroll_code.clone() else {
            return Ok(Outcome::NotEnrolled);
        };
        let request = EnrollRequest {
            code,
            name: self.config.terminal_name.clone(),
        };
        let enrolled = match self.server.enroll(&request) {
            Ok(enrolled) => enrolled,
            Err(ServerError::Refused {
                status,
                code,
                message,
            }) => {
                self.config.enroll_code = None;
                return Ok(Outcome::EnrollFailed {
                    status,
                    code,
                    message,
                    fatal: !was_enrolled,
                });
            }
            Err(other) => return Err(Failure::Server(other)),
        };
        self.config.enroll_code = None;
        if enrolled.school.bin != self.config.school {
            return Ok(Outcome::SchoolMismatch {
                expected: self.config.school,
                got: enrolled.school.bin,
            });
        }
        self.store
            .save_enrollment(&self.config.server_url, &enrolled)?;
        Ok(Outcome::Enrolled {
            terminal_id: enrolled.terminal_id,
            school: enrolled.school.bin,
            school_name: enrolled.school.name,
        })
    }

    /// Pushes unsent meals, oldest first, until none is left.
    fn push_all(&mut self, token: &DeviceToken, tally: &mut PushTally) -> Result<(), Failure> {
        loop {
            let events = self.store.unsent(self.config.batch_size)?;
            if events.is_empty() {
                return Ok(());
            }
            let waiting = self.store.unsent_count()?;
            let batch = MealBatch {
                unsent_after: Some(waiting.saturating_sub(events.len() as u64)),
                events,
                voids: Vec::new(),
                denials: Vec::new(),
            };
            let answer = self.server.push(token, &batch)?;
            let marked = self.store.mark_results(&answer.results, self.clock.now())?;
            tally.add(batch.events.len() as u64, &marked);
            if marked.answered() == 0 {
                return Err(Failure::Server(ServerError::BadAnswer(format!(
                    "the server answered for none of the {} meals pushed",
                    batch.events.len()
                ))));
            }
        }
    }

    /// Pushes what is left after the meals: voids (applied by the server after the meals
    /// they take back, which are all pushed by now) and refused scans, in batches with no
    /// meal. HTTP 200 means every denial is stored.
    fn push_counter(&mut self, token: &DeviceToken) -> Result<(), Failure> {
        loop {
            let voids = self.store.unsent_voids(self.config.batch_size)?;
            let denials = self.store.unsent_denials(self.config.batch_size)?;
            if voids.is_empty() && denials.is_empty() {
                return Ok(());
            }
            let batch = MealBatch {
                events: Vec::new(),
                unsent_after: Some(0),
                voids,
                denials,
            };
            let answer = self.server.push(token, &batch)?;
            let now = self.clock.now();
            if answer.voids.len() != batch.voids.len() {
                return Err(Failure::Server(ServerError::BadAnswer(format!(
                    "the server answered {} of {} voids",
                    answer.voids.len(),
                    batch.voids.len()
                ))));
            }
            self.store.mark_voids(&answer.voids, now)?;
            let denied: Vec<_> = batch.denials.iter().map(|d| d.event_id).collect();
            self.store.mark_denials_pushed(&denied, now)?;
        }
    }

    /// Pulls roster changes, keys, slots, the server's time and the counter's news.
    fn pull(&mut self, token: &DeviceToken, cursor: i64) -> Result<Outcome, Failure> {
        let sent_at = self.clock.now();
        let started = Instant::now();
        let meals_after = self.store.meals_cursor()?;
        let pulled = self.server.pull(token, cursor, meals_after)?;
        let round_trip = started.elapsed();
        if pulled.school.bin != self.config.school {
            return Ok(Outcome::SchoolMismatch {
                expected: self.config.school,
                got: pulled.school.bin,
            });
        }
        let offset_ms = clock_offset_ms(sent_at, round_trip, pulled.server_time);
        let summary = self
            .store
            .apply_sync(&pulled, offset_ms, self.clock.now())?;
        Ok(Outcome::Ok {
            roster: summary,
            full: pulled.full,
            clock_offset_ms: offset_ms,
        })
    }
}

/// The server's clock minus ours, assuming the server read its clock halfway through the
/// round trip.
pub fn clock_offset_ms(
    sent_at: OffsetDateTime,
    round_trip: Duration,
    server: OffsetDateTime,
) -> i64 {
    let halfway = sent_at + round_trip / 2;
    i64::try_from((server - halfway).whole_milliseconds()).unwrap_or(0)
}

/// Why a cycle stopped early.
enum Failure {
    Server(ServerError),
    Store(crate::store::StoreError),
}

impl From<ServerError> for Failure {
    fn from(error: ServerError) -> Self {
        Failure::Server(error)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(error: crate::store::StoreError) -> Self {
        Failure::Store(error)
    }
}

/// The running sync thread. Dropping it lets the thread end after its current call.
#[derive(Debug)]
pub struct SyncHandle {
    nudge: Sender<()>,
}

impl SyncHandle {
    /// A meal was recorded: sync soon if the server is reachable (ignored while backing off).
    pub fn nudge(&self) {
        let _ = self.nudge.send(());
    }
}

/// Runs `syncer` on its own thread, sending a report per cycle (as `E`) to `events`.
pub fn spawn<S, E>(syncer: Syncer<S>, pace: Pace, events: Sender<E>) -> std::io::Result<SyncHandle>
where
    S: Server + Send + 'static,
    E: From<SyncReport> + Send + 'static,
{
    let (nudge, nudges) = mpsc::channel();
    std::thread::Builder::new()
        .name("sync".into())
        .spawn(move || run_loop(syncer, pace, &events, &nudges))?;
    Ok(SyncHandle { nudge })
}

fn run_loop<S: Server, E: From<SyncReport>>(
    mut syncer: Syncer<S>,
    pace: Pace,
    events: &Sender<E>,
    nudges: &Receiver<()>,
) {
    let mut backoff = Backoff::new(pace.backoff_min, pace.backoff_max);
    loop {
        let mut report = syncer.cycle();
        let wait = match report.outcome.next_step() {
            report::Next::Again => {
                backoff.reset();
                Some(Duration::ZERO)
            }
            report::Next::Interval => {
                backoff.reset();
                Some(pace.interval)
            }
            report::Next::Backoff => Some(backoff.next_wait(jitter_unit())),
            report::Next::Stop => None,
        };
        report.retry_in = wait;
        let online = backoff.failures() == 0;
        if events.send(E::from(report)).is_err() {
            return;
        }
        let Some(wait) = wait else { return };
        let keep_going = if online {
            wait_for(wait, true, nudges)
        } else {
            wait_probing(wait, pace.probe, nudges, || syncer.server.healthy())
        };
        if !keep_going {
            return;
        }
    }
}

/// Waits out a backoff, asking the server's health every `probe` meanwhile: the first
/// answer ends the wait, so the terminal is back online seconds after the server is,
/// however long the backoff had grown. False when the terminal is shutting down.
fn wait_probing(
    wait: Duration,
    probe: Duration,
    nudges: &Receiver<()>,
    mut healthy: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        if !wait_for(left.min(probe), false, nudges) {
            return false;
        }
        if Instant::now() < deadline && healthy() {
            tracing::info!("the server answers again; syncing now");
            return true;
        }
    }
}

/// Waits `wait`, or less if nudged while online; false when the terminal is shutting down.
fn wait_for(wait: Duration, online: bool, nudges: &Receiver<()>) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match nudges.recv_timeout(left) {
            Ok(()) if online => {
                while nudges.try_recv().is_ok() {}
                return true;
            }
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

#[cfg(test)]
mod fake_server;
#[cfg(test)]
mod tests;
