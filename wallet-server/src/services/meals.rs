//! Pushing meals from a terminal: every event judged by the meal rule
//! (`domain::meal::judge`) for the terminal's school at the server's time, stored once.
//! Meals of a day whose NOBD report is already built correct that report (a new version), and
//! so do voids of such a day's meals.
//! The batch's denials are stored before its meals, its voids (the terminal taking back its
//! own meals) after them.
//!
//! Pushes are written by group commit ([`MealPushes`], `store::grouped`): the pushes
//! waiting at one moment go into one write transaction, in arrival order, each answered with
//! its own results after the commit — so 40 terminals pushing at once no longer queue on the
//! database's write lock one transaction (and one fsync) each.
//!
//! The corrections of late days' reports are grouped too ([`ReportCorrector`]), and a push
//! does not wait for them: every push of a terminal back from days offline is late, each
//! correction counts the school's day afresh (14 ms on PostgreSQL under the rush), and
//! corrected one push at a time the 40 terminals of the load generator's rush spent a third
//! of PostgreSQL's statement time on 980 corrections, most of them lost races for one version
//! (BENCHMARKS.md, issue 18). Grouped, a process sends one new version per day for all the
//! pushes that arrived while it was busy, counting each of their schools once; a correction
//! lost to a crash is made by the daily job's sweep, as a failed one always was.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use shared::counter::VoidVerdict;
use shared::sync::{MealBatch, MealBatchResult};
use shared::Bin;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::meal::judge;
use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::terminal::TerminalRecord;
use crate::services::reports;
use crate::store::grouped::{GroupWork, Grouped};
use crate::store::{MealPush, Store, StoreError};

/// The process's meal pushes, written in groups.
pub type MealPushes = Grouped<PushWriter>;

/// Writes groups of pushes with the meal rule of each push's school and time.
pub struct PushWriter {
    store: Arc<dyn Store>,
    programme: ProgrammeDates,
    corrections: Grouped<ReportCorrector>,
}

/// A push waiting for its group.
pub struct PushJob {
    terminal: TerminalRecord,
    batch: Arc<MealBatch>,
    now: OffsetDateTime,
}

/// The pushes of a process, written to `store` in groups.
pub fn meal_pushes(store: Arc<dyn Store>, programme: ProgrammeDates) -> MealPushes {
    let corrections = Grouped::new(ReportCorrector {
        store: store.clone(),
    });
    Grouped::new(PushWriter {
        store,
        programme,
        corrections,
    })
}

#[async_trait]
impl GroupWork for PushWriter {
    type Job = PushJob;
    type Answer = MealBatchResult;
    /// About ten full pushes of 500: one commit for a burst, while the first of a burst
    /// does not wait for a long group behind it.
    const CAP: usize = 5_000;

    fn weight(job: &PushJob) -> usize {
        let b = &job.batch;
        (b.events.len() + b.voids.len() + b.denials.len()).max(1)
    }

    async fn run(&self, jobs: &[PushJob]) -> Result<Vec<MealBatchResult>, StoreError> {
        let programme = self.programme;
        let rules: Vec<_> = jobs
            .iter()
            .map(|j| {
                let (school, now) = (j.terminal.school, j.now);
                move |event: &shared::sync::MealEvent,
                      facts: Option<&crate::domain::meal::VoucherFacts>,
                      slots: &[shared::sync::MealSlot]| {
                    judge(school, &programme, now, event, facts, slots)
                }
            })
            .collect();
        let pushes: Vec<MealPush<'_>> = jobs
            .iter()
            .zip(&rules)
            .map(|(j, rule)| MealPush {
                terminal: &j.terminal,
                batch: &j.batch,
                now: j.now,
                judge: rule,
            })
            .collect();
        let answers = self.store.record_pushes(&pushes).await?;
        for (job, answer) in jobs.iter().zip(&answers) {
            self.correct_late_days(job, answer);
        }
        Ok(answers)
    }
}

impl PushWriter {
    /// Has the built reports of the days the push changed corrected, without waiting: the
    /// days of its meals, and of the meals its voids took out of the counts (looked up, as a
    /// void names only its meal; a void pushed again looks up its day again and changes
    /// nothing).
    fn correct_late_days(&self, job: &PushJob, answer: &MealBatchResult) {
        let (school, now) = (job.terminal.school, job.now);
        let mut late: BTreeSet<Date> = job
            .batch
            .events
            .iter()
            .map(|e| e.service_day)
            .filter(|&day| reports::is_built(day, now))
            .collect();
        let voided: Vec<Uuid> = answer
            .voids
            .iter()
            .filter(|v| v.status != VoidVerdict::Rejected)
            .map(|v| v.event_id)
            .collect();
        if late.is_empty() && voided.is_empty() {
            return;
        }
        let (store, corrections) = (self.store.clone(), self.corrections.clone());
        tokio::spawn(async move {
            match reports::built_days_of_meals(store.as_ref(), school, &voided, now).await {
                Ok(days) => late.extend(days),
                Err(e) => {
                    tracing::warn!(error = %e, "voided meals' days not read; the sweep corrects them")
                }
            }
            for day in late {
                let corrections = corrections.clone();
                tokio::spawn(async move { corrections.submit((day, school, now)).await });
            }
        });
    }
}

/// Corrects the reports of days that late meals changed: one version per day per group,
/// counting the schools whose meals came.
pub struct ReportCorrector {
    store: Arc<dyn Store>,
}

#[async_trait]
impl GroupWork for ReportCorrector {
    /// A day, the school whose late meals it had, and when they came.
    type Job = (Date, Bin, OffsetDateTime);
    type Answer = ();
    /// At most one group a second: in a rush of terminals back from offline every push asks
    /// for its days, and each group counts its schools' day afresh (about 14% of
    /// PostgreSQL's time in the load generator's rush when groups followed each other).
    /// NOBD gets the same final figures a moment later, in fewer versions.
    const PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

    /// A failure leaves the meals stored: the daily job's sweep corrects later. It is not
    /// returned, so the group is not run again one by one.
    async fn run(&self, jobs: &[Self::Job]) -> Result<Vec<()>, StoreError> {
        let mut days: BTreeMap<Date, (BTreeSet<Bin>, OffsetDateTime)> = BTreeMap::new();
        for &(day, school, now) in jobs {
            let (schools, at) = days.entry(day).or_insert((BTreeSet::new(), now));
            schools.insert(school);
            *at = (*at).max(now);
        }
        for (day, (schools, now)) in days {
            let schools: Vec<Bin> = schools.into_iter().collect();
            let store = self.store.as_ref();
            if let Err(e) = reports::correct(store, day, Some(&schools), now).await {
                tracing::warn!(%day, error = %e, "daily report correction failed; the sweep retries");
            }
        }
        Ok(vec![(); jobs.len()])
    }
}

/// Stores a terminal's batch; one answer per event and per void, in order. Replaying
/// changes nothing. A meal on a day outside the programme is kept and rejected
/// (`outside_programme`). Answered only once the batch is committed; the reports of late
/// days it changed are corrected after (see the module's doc).
pub async fn push(
    pushes: &MealPushes,
    terminal: &TerminalRecord,
    batch: MealBatch,
    now: OffsetDateTime,
) -> Result<MealBatchResult, StoreError> {
    let job = PushJob {
        terminal: terminal.clone(),
        batch: Arc::new(batch),
        now,
    };
    pushes.submit(job).await
}

#[cfg(test)]
#[path = "meals_tests.rs"]
mod tests;
