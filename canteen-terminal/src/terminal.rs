//! The decision loop's state: one scan in, one [`Verdict`] out.
//!
//! [`Terminal::handle_scan`] asks [`crate::decide::decide`] with the in-memory snapshot
//! (keys, slots, clock offset) and the database (roster, earlier meals), commits an
//! accepted meal durably, and only then returns the verdict to be shown. A meal that loses
//! a race on the database's meal rule is shown red, and a database failure is shown red
//! with [`Denial::TerminalError`]: nothing is ever shown green that is not on disk.

use std::sync::Arc;

use shared::sync::Method;
use shared::time::{service_day, Clock};
use shared::{Bin, CardUid, VoucherId};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::decide::{decide, method_of, Decision, DecisionContext, Student};
use crate::reason::{Denial, Warning};
use crate::scanner::Scan;
use crate::store::{Recorded, Snapshot, Store, StoreError};

/// Settings of the decision loop.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The school this terminal serves.
    pub school: Bin,
    /// Clock difference forgiven at both ends of a pass's validity window.
    pub leeway: Duration,
    /// Decisions warn when the last roster pull is older than this.
    pub roster_max_age: Duration,
}

/// What the worker (or a script) is shown for one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `None`: accepted.
    pub denial: Option<Denial>,
    pub method: Method,
    pub student: Option<Student>,
    /// The card read, for card scans (so staff can bind an unknown card).
    pub card_uid: Option<CardUid>,
    /// The recorded meal's id, when accepted.
    pub event_id: Option<Uuid>,
    pub slot: Option<String>,
    pub service_day: Date,
    /// Meals recorded on this terminal for the service day, this one included.
    pub today: u64,
    /// Corrected time of the decision.
    pub at: OffsetDateTime,
    pub warning: Option<Warning>,
}

impl Verdict {
    pub fn accepted(&self) -> bool {
        self.denial.is_none()
    }
}

/// The decision loop's state.
pub struct Terminal {
    store: Store,
    snapshot: Snapshot,
    clock: Arc<dyn Clock>,
    settings: Settings,
    today: Option<(Date, u64)>,
}

impl Terminal {
    /// Loads the snapshot from `store`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Result<Self, StoreError> {
        let snapshot = store.snapshot()?;
        Ok(Self {
            store,
            snapshot,
            clock,
            settings,
            today: None,
        })
    }

    /// The snapshot the next decision will use.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The settings this terminal decides with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The database connection of the decision loop.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reloads keys, slots, offset and roster age after a pull. On failure the previous
    /// snapshot stays in use.
    pub fn refresh(&mut self) {
        match self.store.snapshot() {
            Ok(snapshot) => self.snapshot = snapshot,
            Err(error) => tracing::error!(%error, "cannot reload the roster snapshot"),
        }
    }

    /// The terminal's clock corrected by the last known offset to the server's.
    pub fn now(&self) -> OffsetDateTime {
        let offset = Duration::milliseconds(self.snapshot.state.clock_offset_ms);
        self.clock.now().saturating_add(offset)
    }

    /// Whether decisions can be made at all: enrolled and pulled at least once.
    pub fn ready(&self) -> bool {
        self.snapshot.state.enrolled() && self.snapshot.state.last_roster_at.is_some()
    }

    /// The warning decisions carry now, if any.
    pub fn warning(&self, now: OffsetDateTime) -> Option<Warning> {
        let state = &self.snapshot.state;
        if state.revoked_at.is_some() {
            return Some(Warning::TerminalRevoked);
        }
        match state.last_roster_at {
            Some(pulled) if now - pulled > self.settings.roster_max_age => {
                Some(Warning::RosterStale)
            }
            _ => None,
        }
    }

    /// Meals recorded for the service day of `now` (cached; counted again on a new day).
    pub fn today(&mut self, now: OffsetDateTime) -> u64 {
        let day = service_day(now);
        match self.today {
            Some((cached, count)) if cached == day => count,
            _ => {
                let count = self.store.meals_on(day).unwrap_or_else(|error| {
                    tracing::error!(%error, "cannot count today's meals");
                    0
                });
                self.today = Some((day, count));
                count
            }
        }
    }

    /// Decides one scan, records an accepted meal durably, and says what to show.
    pub fn handle_scan(&mut self, scan: &Scan) -> Verdict {
        let now = self.now();
        let method = method_of(scan);
        let ctx = DecisionContext {
            ready: self.ready(),
            keys: &self.snapshot.keys,
            school: self.settings.school,
            now,
            leeway: self.settings.leeway,
            slots: &self.snapshot.slots,
            roster: &self.store,
        };
        let (denial, student, slot, event_id) = match decide(scan, &ctx) {
            Ok(Decision::Accept(meal)) => match self.store.record_meal(&meal) {
                Ok(Recorded::Inserted(id)) => {
                    self.count_meal(meal.service_day);
                    (None, Some(meal.student), Some(meal.slot), Some(id))
                }
                Ok(Recorded::AlreadyAte) => (
                    Some(Denial::AlreadyAte),
                    Some(meal.student),
                    Some(meal.slot),
                    None,
                ),
                Err(error) => {
                    tracing::error!(%error, "cannot record a meal; denied");
                    (Some(Denial::TerminalError), Some(meal.student), None, None)
                }
            },
            Ok(Decision::Deny(refusal)) => {
                (Some(refusal.reason), refusal.student, refusal.slot, None)
            }
            Err(error) => {
                tracing::error!(%error, "cannot look the scan up; denied");
                (Some(Denial::TerminalError), None, None, None)
            }
        };
        let verdict = Verdict {
            denial,
            method,
            student,
            card_uid: match scan {
                Scan::Card(uid) => Some(*uid),
                Scan::Qr(_) => None,
            },
            event_id,
            slot,
            service_day: service_day(now),
            today: self.today(now),
            at: now,
            warning: self.warning(now),
        };
        log(&verdict);
        verdict
    }

    fn count_meal(&mut self, day: Date) {
        match &mut self.today {
            Some((cached, count)) if *cached == day => *count += 1,
            _ => self.today = None,
        }
    }
}

/// The audit line of a decision on stderr: no name, no pass text.
fn log(verdict: &Verdict) {
    let voucher = verdict.student.as_ref().map(|s| s.voucher_id);
    let voucher = voucher.as_ref().map(VoucherId::to_string);
    tracing::info!(
        decision = if verdict.accepted() { "accept" } else { "deny" },
        reason = verdict.denial.map(Denial::code),
        method = ?verdict.method,
        voucher = voucher.as_deref(),
        event_id = verdict.event_id.map(|id| id.to_string()).as_deref(),
        slot = verdict.slot.as_deref(),
        "decision"
    );
}

#[cfg(test)]
#[path = "terminal_tests.rs"]
mod tests;
