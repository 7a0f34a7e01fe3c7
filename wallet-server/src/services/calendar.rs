//! The school calendar's use cases: reading a school's calendar for a school year, and
//! changing it — declared dates, breaks and regions by the integration, a school's week and
//! its own breaks by its director. Each change is audited; a change that touches a month
//! already approved for a school it applies to is refused, nothing changed.

use shared::Bin;
use time::{Date, OffsetDateTime};

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::calendar::{
    BreakScope, CalendarChange, DayStatus, DeclaredDay, Region, SchoolBreak, SchoolCalendar,
    SchoolWeek, SchoolYear,
};
use crate::store::{Store, StoreError};

/// Why a calendar change is refused.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// A month the change touches is approved (`BIN/YYYY-MM`): its табель is frozen.
    #[error("the табель of {0} is approved; a calendar change touching that month is refused")]
    ApprovedMonth(String),
    #[error("nothing of that kind is set")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CalendarError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { current } => CalendarError::ApprovedMonth(
                current
                    .strip_prefix("approved ")
                    .unwrap_or(&current)
                    .to_string(),
            ),
            StoreError::NotFound => CalendarError::NotFound,
            other => CalendarError::Store(other),
        }
    }
}

/// Applies one change, audited, unless it touches an approved month; a school's break or
/// week for an unknown school is `NotFound`.
pub async fn change(
    store: &dyn Store,
    change: &CalendarChange,
    actor: Actor,
    now: OffsetDateTime,
) -> Result<(), CalendarError> {
    if let CalendarChange::SetBreak(SchoolBreak {
        scope: BreakScope::School(school),
        ..
    }) = change
    {
        store
            .school(*school)
            .await?
            .ok_or(CalendarError::NotFound)?;
    }
    let audit = AuditEntry {
        at: now,
        actor,
        entity_kind: "calendar",
        entity_id: change.entity_id(),
        action: "change".into(),
        from_state: None,
        to_state: None,
        reason: Some(change.describe()),
    };
    store.change_calendar(change, &audit).await?;
    tracing::info!(entity = %audit.entity_id, change = %change.describe(), "calendar changed");
    Ok(())
}

/// A day that is not a school day, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOff {
    pub date: Date,
    pub status: DayStatus,
}

/// A school's calendar for one school year, as staff and the API show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolCalendarView {
    pub school_year: SchoolYear,
    pub week: SchoolWeek,
    pub region: Option<Region>,
    /// The breaks in force for this school (the most specific of each key).
    pub breaks: Vec<SchoolBreak>,
    /// The national declarations of the year (moving holidays, transfers).
    pub declared: Vec<DeclaredDay>,
    /// Every day of the year that is not a school day, with why.
    pub days_off: Vec<DayOff>,
    /// School days in the year.
    pub school_days: u32,
}

/// The calendar of `school` for `year`; `NotFound` for an unknown school.
pub async fn school_calendar(
    store: &dyn Store,
    school: Bin,
    year: SchoolYear,
) -> Result<SchoolCalendarView, CalendarError> {
    let region = store.school_region(school).await?;
    let calendar: SchoolCalendar = store.school_calendar(school, year, year).await?;
    let mut days_off = Vec::new();
    let mut school_days = 0;
    let mut day = year.first_day();
    while day <= year.last_day() {
        match calendar.status(day) {
            DayStatus::SchoolDay => school_days += 1,
            status => days_off.push(DayOff { date: day, status }),
        }
        day = match day.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    Ok(SchoolCalendarView {
        school_year: year,
        week: calendar.week(year),
        region,
        breaks: calendar.effective_breaks().into_iter().cloned().collect(),
        declared: calendar.declared.clone(),
        days_off,
        school_days,
    })
}

/// A school year's declared dates and its breaks of every scope (national, regional, per
/// school), as the integration reviews them.
pub async fn national_calendar(
    store: &dyn Store,
    year: SchoolYear,
) -> Result<(Vec<DeclaredDay>, Vec<SchoolBreak>), CalendarError> {
    Ok(store.national_calendar(year).await?)
}
