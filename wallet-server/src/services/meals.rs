//! Pushing meals from a terminal: every event judged by the meal rule
//! (`domain::meal::judge`) for the terminal's school at the server's time, stored once.
//! Meals of a day whose NOBD report is already built correct that report (a new version).
//! The batch's denials are stored before its meals, its voids (the terminal taking back its
//! own meals) after them.
//!
//! Pushes are written by group commit ([`MealPushes`], `store::grouped`): the pushes
//! waiting at one moment go into one write transaction, in arrival order, each answered with
//! its own results after the commit — so 40 terminals pushing at once no longer queue on the
//! database's write lock one transaction (and one fsync) each.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use shared::sync::{MealBatch, MealBatchResult};
use shared::Bin;
use time::{Date, OffsetDateTime};

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
}

/// A push waiting for its group.
pub struct PushJob {
    terminal: TerminalRecord,
    batch: Arc<MealBatch>,
    now: OffsetDateTime,
}

/// The pushes of a process, written to `store` in groups.
pub fn meal_pushes(store: Arc<dyn Store>, programme: ProgrammeDates) -> MealPushes {
    Grouped::new(PushWriter { store, programme })
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
        self.store.record_pushes(&pushes).await
    }
}

/// Stores a terminal's batch; one answer per event and per void, in order. Replaying
/// changes nothing. A meal on a day outside the programme is kept and rejected
/// (`outside_programme`). Answered only once the batch is committed.
pub async fn push(
    pushes: &MealPushes,
    store: &dyn Store,
    terminal: &TerminalRecord,
    batch: MealBatch,
    now: OffsetDateTime,
) -> Result<MealBatchResult, StoreError> {
    let batch = Arc::new(batch);
    let job = PushJob {
        terminal: terminal.clone(),
        batch: batch.clone(),
        now,
    };
    let answer = pushes.submit(job).await?;
    correct_reports(store, terminal.school, &batch, now).await;
    Ok(answer)
}

/// Days of the batch whose daily report is already built: their report may need a new
/// version. A failure here leaves the meals stored; the daily job's sweep corrects later.
async fn correct_reports(store: &dyn Store, school: Bin, batch: &MealBatch, now: OffsetDateTime) {
    let late: BTreeSet<Date> = batch
        .events
        .iter()
        .map(|e| e.service_day)
        .filter(|&day| reports::is_built(day, now))
        .collect();
    for day in late {
        if let Err(e) = reports::correct(store, day, Some(school), now).await {
            tracing::warn!(%day, error = %e, "daily report correction failed; the sweep retries");
        }
    }
}
