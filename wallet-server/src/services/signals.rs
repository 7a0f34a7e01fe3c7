//! Signals of misuse (issue 19), the use cases: store a terminal's refused scans (who minted
//! a pass is noted by `mint_notes`), compute a day's signals per school (the daily job, or the integration
//! asking for a day again) and read them. The rules are `domain::signals`; this module only
//! gathers their facts and keeps the result.

use shared::counter::ScanDenial;
use shared::time::start_of_service_day;
use shared::Iin;
use time::{Date, Duration, OffsetDateTime};

use crate::domain::calendar::SchoolYear;
use crate::domain::job::{JobKind, NewJob};
use crate::domain::signals::{detect, DayFacts, THRESHOLDS};
use crate::store::{Store, StoreError, StoredSignal};

/// Most refused scans in one push (as many as meals).
pub const MAX_DENIALS: usize = shared::sync::MAX_BATCH;

/// How far back a school's usual manual share looks (calendar days; the rule takes its
/// last school days with meals among them).
const TRAILING: Duration = Duration::days(60);

/// How long mint notes are kept: the trailing window is long enough to recompute a day.
const KEEP_MINTS: Duration = Duration::days(60);

/// Why refused scans were not stored.
#[derive(Debug, thiserror::Error)]
pub enum DenialError {
    #[error("at most {MAX_DENIALS} denials per push")]
    TooMany,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refuses more than [`MAX_DENIALS`] refused scans in one push (before anything is stored).
pub fn check_denials(denials: &[ScanDenial]) -> Result<(), DenialError> {
    if denials.len() > MAX_DENIALS {
        return Err(DenialError::TooMany);
    }
    Ok(())
}

/// The opaque key a parent's mints are noted under: no IIN is stored for this.
pub fn parent_key(parent: Iin) -> String {
    let hash = crate::services::enrollment::hash_token(&format!("mint-parent:{}", parent.expose()));
    hash[..16].to_string()
}

/// Computes the signals of the Astana day `day` for every school with facts that day (and
/// replaces what was stored for it); how many signals there are now.
pub async fn compute_day(
    store: &dyn Store,
    day: Date,
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let mut count = 0;
    for school in store.signal_schools(day).await? {
        let facts = store.signal_facts(school, day, day - TRAILING).await?;
        let school_day = match store
            .school_calendar(school, SchoolYear::of(day), SchoolYear::of(day))
            .await
        {
            Ok(calendar) => calendar.is_school_day(day),
            // A school the calendar does not know (another terminal's only): weekdays.
            Err(StoreError::NotFound) => day.weekday().number_from_monday() <= 5,
            Err(e) => return Err(e),
        };
        let facts = DayFacts {
            school,
            day,
            school_day,
            slots: store.meal_slots(school).await?,
            scans: facts.scans,
            manual_today: facts.manual_today,
            manual_before: facts.manual_before,
            mints: facts.mints,
        };
        let signals = detect(&facts, &THRESHOLDS);
        count += signals.len();
        store.replace_signals(school, day, &signals, now).await?;
    }
    Ok(count)
}

/// The job computing `day`'s signals, due half an hour after that day ends (Astana), when
/// the terminals have pushed.
pub fn signals_job(day: Date, now: OffsetDateTime) -> NewJob {
    let due = start_of_service_day(day + Duration::DAY) + Duration::minutes(30);
    NewJob::new(JobKind::Signals, day.to_string(), due, now)
}

/// Schedules the job of the day before `now` (its own run schedules the next).
pub async fn seed(store: &dyn Store, now: OffsetDateTime) -> Result<(), StoreError> {
    let yesterday = shared::time::service_day(now) - Duration::DAY;
    store.schedule_job(&signals_job(yesterday, now)).await?;
    Ok(())
}

/// The daily run: computes `day` and, again, the day before (terminals that were offline
/// have pushed since), forgets old mint notes, and answers the next day's job.
pub async fn daily(
    store: &dyn Store,
    day: Date,
    now: OffsetDateTime,
) -> Result<NewJob, StoreError> {
    compute_day(store, day - Duration::DAY, now).await?;
    let found = compute_day(store, day, now).await?;
    tracing::info!(%day, signals = found, "signals of misuse computed");
    store.forget_mints(day - KEEP_MINTS).await?;
    Ok(signals_job(day + Duration::DAY, now))
}

/// One school's signals of a day (staff).
pub async fn of_school(
    store: &dyn Store,
    school: shared::Bin,
    day: Date,
) -> Result<Vec<StoredSignal>, StoreError> {
    store.school_signals(school, day).await
}

/// Every school's signals of a day (integration).
pub async fn of_day(store: &dyn Store, day: Date) -> Result<Vec<StoredSignal>, StoreError> {
    store.day_signals(day).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_days_job_is_due_half_past_midnight_in_astana_the_day_after() {
        let job = signals_job(date!(2026 - 11 - 24), datetime!(2026-11-24 05:00 UTC));
        assert_eq!(job.key, "2026-11-24");
        assert_eq!(job.kind, JobKind::Signals);
        assert_eq!(job.due_at, datetime!(2026-11-24 19:30 UTC));
    }

    #[test]
    fn a_parents_key_is_stable_opaque_and_not_the_iin() {
        let iin: Iin = "880512412342".parse().expect("iin");
        let key = parent_key(iin);
        assert_eq!(key, parent_key(iin));
        assert_eq!(key.len(), 16);
        assert!(!key.contains("880512"));
    }
}
