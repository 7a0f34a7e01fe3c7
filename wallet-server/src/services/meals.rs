//! Pushing meals from a terminal: every event judged by the meal rule
//! (`domain::meal::judge`) for the terminal's school at the server's time, stored once.

use shared::sync::{MealBatch, MealResult};
use time::OffsetDateTime;

use crate::domain::meal::{judge, VoucherFacts};
use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::terminal::TerminalRecord;
use crate::store::{Store, StoreError};

/// Stores a terminal's batch; one answer per event, in order. Replaying changes nothing.
/// A meal on a day outside `programme` is kept and rejected (`outside_programme`).
pub async fn push(
    store: &dyn Store,
    terminal: &TerminalRecord,
    programme: ProgrammeDates,
    batch: &MealBatch,
    now: OffsetDateTime,
) -> Result<Vec<MealResult>, StoreError> {
    let school = terminal.school;
    let rule = move |event: &shared::sync::MealEvent,
                     facts: Option<&VoucherFacts>,
                     slots: &[shared::sync::MealSlot]| {
        judge(school, &programme, now, event, facts, slots)
    };
    store.record_meals(terminal, batch, now, &rule).await
}
