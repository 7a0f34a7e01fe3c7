//! Pushing meals from a terminal: every event judged by the meal rule
//! (`domain::meal::judge`) for the terminal's school at the server's time, stored once.
//! Meals of a day whose NOBD report is already built correct that report (a new version).
//! The batch's voids (the terminal taking back its own meals) are applied after its meals.

use std::collections::BTreeSet;

use shared::sync::{MealBatch, MealBatchResult};
use shared::Bin;
use time::{Date, OffsetDateTime};

use crate::domain::meal::{judge, VoucherFacts};
use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::terminal::TerminalRecord;
use crate::services::reports;
use crate::store::{Store, StoreError};

/// Stores a terminal's batch; one answer per event and per void, in order. Replaying
/// changes nothing. A meal on a day outside `programme` is kept and rejected
/// (`outside_programme`).
pub async fn push(
    store: &dyn Store,
    terminal: &TerminalRecord,
    programme: ProgrammeDates,
    batch: &MealBatch,
    now: OffsetDateTime,
) -> Result<MealBatchResult, StoreError> {
    let school = terminal.school;
    let rule = move |event: &shared::sync::MealEvent,
                     facts: Option<&VoucherFacts>,
                     slots: &[shared::sync::MealSlot]| {
        judge(school, &programme, now, event, facts, slots)
    };
    let results = store.record_meals(terminal, batch, now, &rule).await?;
    let voids = store
        .void_terminal_meals(terminal, &batch.voids, now)
        .await?;
    correct_reports(store, school, batch, now).await;
    Ok(MealBatchResult { results, voids })
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
