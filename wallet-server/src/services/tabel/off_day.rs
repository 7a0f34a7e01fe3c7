//! The director confirms a meal served on a non-school day (a weekend, a holiday, a
//! transfer's day off, a school break): from then on the табель bills it. Unconfirmed, it
//! stays on the табель's "not billed" list, outside the amount. The confirmation is audited
//! and only possible before the month is approved.

use shared::time::YearMonth;
use shared::Bin;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::calendar::{DayStatus, SchoolYear};
use crate::domain::meal::MealStatus;
use crate::store::{Store, StoreError};

/// Why a confirmation is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("no such meal in {0} at this school")]
    NotFound(YearMonth),
    #[error(
        "the meal of {0} is on a school day: it is billed already, there is nothing to confirm"
    )]
    SchoolDay(Date),
    #[error("the meal is not billable ({0}): only an accepted meal can be confirmed")]
    NotAccepted(MealStatus),
    #[error("{0} is approved; its meals can no longer be confirmed")]
    MonthApproved(YearMonth),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a confirmation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmed {
    pub service_day: Date,
    pub day: DayStatus,
    /// `false` when the meal had been confirmed before (nothing changed).
    pub new: bool,
}

/// The director confirms meal `event_id` of `month` at `school`.
pub async fn confirm_off_day_meal(
    store: &dyn Store,
    school: Bin,
    month: YearMonth,
    event_id: Uuid,
    director: Actor,
    now: OffsetDateTime,
) -> Result<Confirmed, ConfirmError> {
    if store.tabel_approval(school, month).await?.is_some() {
        return Err(ConfirmError::MonthApproved(month));
    }
    let meal = store
        .school_meal(school, event_id)
        .await?
        .filter(|m| month.contains(m.service_day))
        .ok_or(ConfirmError::NotFound(month))?;
    if meal.status != MealStatus::Accepted {
        return Err(ConfirmError::NotAccepted(meal.status));
    }
    let year = SchoolYear::of(meal.service_day);
    let day = store
        .school_calendar(school, year, year)
        .await?
        .status(meal.service_day);
    if day == DayStatus::SchoolDay {
        return Err(ConfirmError::SchoolDay(meal.service_day));
    }
    let audit = AuditEntry {
        at: now,
        actor: director,
        entity_kind: "meal",
        entity_id: event_id.to_string(),
        action: "confirm_off_day".into(),
        from_state: Some("unbilled".into()),
        to_state: Some("billed".into()),
        reason: Some(format!("{} is a {day} at {school}", meal.service_day)),
    };
    let new = match store
        .confirm_off_day_meal(school, event_id, month, &audit)
        .await
    {
        Ok(new) => new,
        Err(StoreError::Conflict { .. }) => return Err(ConfirmError::MonthApproved(month)),
        Err(e) => return Err(e.into()),
    };
    Ok(Confirmed {
        service_day: meal.service_day,
        day,
        new,
    })
}
