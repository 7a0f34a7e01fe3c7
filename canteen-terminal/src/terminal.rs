//! The decision loop's state: one scan in, one [`Verdict`] out.
//!
//! [`Terminal::handle_scan`] asks [`crate::decide::decide`] with the in-memory snapshot
//! (keys, slots, clock offset) and the database (roster, earlier meals), commits an
//! accepted meal durably, and only then returns the verdict to be shown. A meal that loses
//! a race on the database's meal rule is shown red, and a database failure is shown red
//! with [`Denial::TerminalError`]: nothing is ever shown green that is not on disk.

use std::sync::Arc;

use shared::counter::ScanDenial;
use shared::sync::Method;
use shared::time::{service_day, Clock};
use shared::{Bin, CardUid, Label, VoucherId};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::decide::{
    decide, decide_for, method_of, Decision, DecisionContext, EarlierMeal, Student,
};
use crate::reason::{Denial, Warning};
use crate::scanner::Scan;
use crate::store::{Recorded, Snapshot, Stamp, Store, StoreError, VoidRefused};

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
    /// For "already ate": the meal already served (when, slot, where).
    pub earlier: Option<EarlierMeal>,
    /// Accepted because this terminal committed the meal `n` seconds ago but never showed
    /// it (the terminal stopped in between); nothing new was recorded.
    pub unshown_secs: Option<i64>,
    /// Why the worker served by hand (method `manual`).
    pub manual_reason: Option<Label>,
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
    worker: Option<Label>,
}

impl Terminal {
    /// Loads the snapshot from `store`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Result<Self, StoreError> {
        let snapshot = store.snapshot()?;
        let worker = store.worker()?;
        Ok(Self {
            store,
            snapshot,
            clock,
            settings,
            today: None,
            worker,
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

    /// The worker signed in, if any.
    pub fn worker(&self) -> Option<&Label> {
        self.worker.as_ref()
    }

    /// Signs a worker in (their name is stamped on every meal and void) or out.
    pub fn sign_in(&mut self, worker: Option<Label>) -> Result<(), StoreError> {
        self.store.set_worker(worker.as_ref())?;
        self.worker = worker;
        Ok(())
    }

    fn context(&self, now: OffsetDateTime) -> DecisionContext<'_, Store> {
        DecisionContext {
            ready: self.ready(),
            keys: &self.snapshot.keys,
            school: self.settings.school,
            now,
            leeway: self.settings.leeway,
            slots: &self.snapshot.slots,
            roster: &self.store,
        }
    }

    /// Decides one scan, records an accepted meal durably, and says what to show.
    pub fn handle_scan(&mut self, scan: &Scan) -> Verdict {
        let now = self.now();
        let method = method_of(scan);
        let decision = decide(scan, &self.context(now));
        let card_uid = match scan {
            Scan::Card(uid) => Some(*uid),
            Scan::Qr(_) => None,
        };
        self.conclude(decision, method, card_uid, None, now)
    }

    /// Serves a student found by name or class (forgot card and phone): the same checks
    /// as a scan after the student is known, recorded with method `manual` and `reason`.
    pub fn serve_manually(&mut self, voucher: VoucherId, reason: Label) -> Verdict {
        let now = self.now();
        let decision = match crate::decide::Roster::by_voucher(&self.store, voucher) {
            Ok(Some(student)) if self.ready() => {
                decide_for(student, Method::Manual, None, &self.context(now))
            }
            Ok(Some(_)) => Ok(crate::decide::Decision::Deny(crate::decide::Refusal {
                reason: Denial::NotReady,
                method: Method::Manual,
                student: None,
                slot: None,
                earlier: None,
            })),
            Ok(None) => Ok(crate::decide::Decision::Deny(crate::decide::Refusal {
                reason: Denial::NotOnRoster,
                method: Method::Manual,
                student: None,
                slot: None,
                earlier: None,
            })),
            Err(error) => Err(error),
        };
        self.conclude(decision, Method::Manual, None, Some(reason), now)
    }

    /// Takes back one of this terminal's meals (within [`crate::store::VOID_WINDOW`]).
    pub fn void(&mut self, event_id: Uuid, reason: &Label) -> Result<(), VoidError> {
        let now = self.now();
        match self
            .store
            .void_meal(event_id, now, reason, self.worker.as_ref())?
        {
            Ok(()) => {
                self.today = None;
                tracing::info!(event_id = %event_id, "meal voided by the worker");
                Ok(())
            }
            Err(refused) => Err(VoidError::Refused(refused)),
        }
    }

    /// The worker has seen this meal (a crash after this no longer offers it again).
    pub fn mark_shown(&self, event_id: Uuid) {
        if let Err(error) = self.store.mark_shown(event_id) {
            tracing::warn!(%error, "cannot mark a meal as shown");
        }
    }

    fn conclude(
        &mut self,
        decision: Result<Decision, StoreError>,
        method: Method,
        card_uid: Option<CardUid>,
        manual_reason: Option<Label>,
        now: OffsetDateTime,
    ) -> Verdict {
        let mut verdict = Verdict {
            denial: None,
            method,
            student: None,
            card_uid,
            event_id: None,
            slot: None,
            service_day: service_day(now),
            today: 0,
            at: now,
            warning: self.warning(now),
            earlier: None,
            unshown_secs: None,
            manual_reason: None,
        };
        match decision {
            Ok(Decision::Accept(meal)) => {
                let stamp = Stamp {
                    worker: self.worker.as_ref(),
                    manual_reason: manual_reason.as_ref(),
                };
                match self.store.record_meal(&meal, stamp) {
                    Ok(Recorded::Inserted(id)) => {
                        self.count_meal(meal.service_day);
                        verdict.event_id = Some(id);
                        verdict.slot = Some(meal.slot);
                        verdict.manual_reason = manual_reason;
                    }
                    Ok(Recorded::AlreadyAte) => {
                        verdict.denial = Some(Denial::AlreadyAte);
                        verdict.slot = Some(meal.slot);
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot record a meal; denied");
                        verdict.denial = Some(Denial::TerminalError);
                    }
                }
                verdict.student = Some(meal.student);
            }
            Ok(Decision::Unshown {
                student, earlier, ..
            }) => {
                verdict.unshown_secs = Some((now - earlier.served_at).whole_seconds());
                verdict.event_id = earlier.event_id;
                verdict.slot = Some(earlier.slot.clone());
                verdict.student = Some(student);
            }
            Ok(Decision::Deny(refusal)) => {
                verdict.denial = Some(refusal.reason);
                verdict.student = refusal.student;
                verdict.slot = refusal.slot;
                verdict.earlier = refusal.earlier;
            }
            Err(error) => {
                tracing::error!(%error, "cannot look the scan up; denied");
                verdict.denial = Some(Denial::TerminalError);
            }
        }
        verdict.today = self.today(now);
        log(&verdict);
        verdict
    }

    /// Keeps a refused scan to push (not an unreadable code, not the terminal's fault).
    /// Called after the refusal is on screen: the write is off the scan-to-decision path.
    pub fn keep_denial(&self, verdict: &Verdict) {
        let Some(denial) = verdict.denial.filter(|d| d.pushed()) else {
            return;
        };
        let Ok(reason) = denial.code().parse::<Label>() else {
            return;
        };
        let record = ScanDenial {
            event_id: Uuid::now_v7(),
            at: verdict.at,
            reason,
            method: verdict.method,
            voucher_id: verdict.student.as_ref().map(|s| s.voucher_id),
            pass_nonce: None,
            card_uid: verdict.card_uid,
        };
        if let Err(error) = self.store.record_denial(&record) {
            tracing::warn!(%error, "cannot keep a refused scan for the server");
        }
    }

    fn count_meal(&mut self, day: Date) {
        match &mut self.today {
            Some((cached, count)) if *cached == day => *count += 1,
            _ => self.today = None,
        }
    }
}

/// Why a void was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum VoidError {
    #[error("not voided: {0:?}")]
    Refused(VoidRefused),
    #[error(transparent)]
    Store(#[from] StoreError),
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
