//! The daily report to NOBD: per school and Astana day, vouchers formed, activated and
//! revoked, billable meals, duplicates, and distinct students fed.
//!
//! A scheduled job builds each day's report at 23:30 Astana time, stores it and queues it in
//! the outbox in one transaction; building a stored day again returns the stored content, so
//! NOBD never receives two different reports for one day *version*.
//!
//! Corrections: meals sync late from offline terminals. When a push brings meals of a day
//! whose report is already built, [`correct`] stores the next version (the day's meal figures
//! as they are now, with its reason) and queues it, once: the version is the key of the
//! stored row and of the outbox id. The daily job also sweeps the [`CORRECTION_DAYS`] days
//! before, so a correction lost to a crash after the push still goes out.

use shared::time::Clock;
use shared::time::{service_day, start_of_service_day};
use shared::Bin;
use time::{Date, Duration, OffsetDateTime};

use crate::domain::job::JobKind;
use crate::domain::job::NewJob;
use crate::domain::outbox::{OutboxKind, OutboxMessage};
use crate::domain::report::SchoolDay;
use crate::domain::report::{correction, DailyReport, NOBD};
use crate::store::{DayFigures, DayReport, FiguresSource, Store, StoreError};

/// The job that builds the report of the Astana day `day`, due at 23:30 that day.
pub fn report_job(day: Date, now: OffsetDateTime) -> NewJob {
    let due = start_of_service_day(day) + Duration::hours(23) + Duration::minutes(30);
    NewJob::new(JobKind::DailyReport, day.to_string(), due, now)
}

/// Builds (or reads back) the report of a day; `queue` also stores it and queues it for NOBD.
pub async fn report_for(
    store: &dyn Store,
    clock: &dyn Clock,
    day: Date,
    queue: bool,
) -> Result<DailyReport, StoreError> {
    let facts = match store.report_of_day(day).await? {
        DayReport::Stored(stored) => {
            return serde_json::from_str(&stored)
                .map_err(|_| StoreError::Corrupt("stored daily report".into()))
        }
        DayReport::Live(facts) => facts,
    };
    let report = DailyReport::first(day, facts);
    if !queue {
        return Ok(report);
    }
    let body = serde_json::to_string(&report)
        .map_err(|_| StoreError::Corrupt("daily report JSON".into()))?;
    let now = clock.now();
    let message = OutboxMessage::pending(
        report.message_id(),
        OutboxKind::Report,
        NOBD,
        body.clone(),
        now,
    );
    // A concurrent build of the same day loses the insert: read back the winner's.
    if !store.save_report(day, &body, &message, now).await? {
        return Box::pin(report_for(store, clock, day, false)).await;
    }
    Ok(report)
}

/// One school's figures for each of the `days` days ending `today`, oldest first, as the
/// NOBD report carries them: a built day's latest stored version (zeros when the school was
/// not in it), any other day counted now. One query for the whole run.
pub async fn school_days(
    store: &dyn Store,
    school: Bin,
    today: Date,
    days: i64,
) -> Result<Vec<(Date, SchoolDay)>, StoreError> {
    let first = today - Duration::days(days.max(1) - 1);
    let rows = store.school_days(school, first, today).await?;
    Ok((0..days.max(1))
        .map(|n| first + Duration::days(n))
        .map(|day| (day, figures_of_day(school, day, &rows)))
        .collect())
}

/// The figures a day shows, from the rows of [`Store::school_days`].
fn figures_of_day(school: Bin, day: Date, rows: &[DayFigures]) -> SchoolDay {
    let of_day = || rows.iter().filter(move |r| r.day == day);
    let built = of_day().any(|r| r.source != FiguresSource::Live);
    let latest_stored = of_day()
        .filter_map(|r| match r.source {
            FiguresSource::Stored { version } => Some((version, &r.figures)),
            _ => None,
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, f)| f);
    let live = of_day()
        .find(|r| r.source == FiguresSource::Live)
        .map(|r| &r.figures);
    match (built, latest_stored, live) {
        (true, Some(stored), _) => stored.clone(),
        (false, _, Some(live)) => live.clone(),
        _ => SchoolDay::zero(school.to_string()),
    }
}

/// Schedules today's report (idempotent: the job key is the date).
pub async fn seed(store: &dyn Store, now: OffsetDateTime) -> Result<(), StoreError> {
    store
        .schedule_job(&report_job(service_day(now), now))
        .await?;
    Ok(())
}

/// How far back the daily job's sweep looks for days whose meals changed after their report:
/// a terminal may stay offline for weeks. (A push corrects its days however old; the sweep
/// only catches a correction a crash lost.)
pub const CORRECTION_DAYS: i64 = 35;

/// The report's build time of `day` has passed at `now`: its meals arriving now are late.
pub fn is_built(day: Date, now: OffsetDateTime) -> bool {
    now >= report_job(day, now).due_at
}

/// The days of `school`'s meals among `event_ids` whose reports are already built. A void
/// takes its meal out of its day's counts, and that day's report may be built (a terminal
/// back from offline, staff voiding in the console): those days are corrected like late
/// meals' days.
pub async fn built_days_of_meals(
    store: &dyn Store,
    school: Bin,
    event_ids: &[uuid::Uuid],
    now: OffsetDateTime,
) -> Result<Vec<Date>, StoreError> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    let days = store.meal_days(school, event_ids).await?;
    Ok(days.into_iter().filter(|&d| is_built(d, now)).collect())
}

/// Sends the next version of `day`'s report when its meal figures changed since the latest
/// version — of every school, or of `schools` only (pushes know their schools: a school's
/// figures are cheap to count) — the version sent, if any. Nothing before the first version
/// exists.
pub async fn correct(
    store: &dyn Store,
    day: Date,
    schools: Option<&[Bin]>,
    now: OffsetDateTime,
) -> Result<Option<DailyReport>, StoreError> {
    // A racing correction of the same version wins; read again and compare with it.
    for _ in 0..3 {
        let Some(stored) = store.stored_report(day).await? else {
            return Ok(None);
        };
        let latest: DailyReport = serde_json::from_str(&stored)
            .map_err(|_| StoreError::Corrupt("stored daily report".into()))?;
        let meals = store.day_meals(day, schools).await?;
        let Some(next) = correction(&latest, &meals) else {
            return Ok(None);
        };
        let body = serde_json::to_string(&next)
            .map_err(|_| StoreError::Corrupt("daily report JSON".into()))?;
        let message = OutboxMessage::pending(
            next.message_id(),
            OutboxKind::Report,
            NOBD,
            body.clone(),
            now,
        );
        let reason = next.reason.clone().unwrap_or_default();
        if store
            .save_report_version(day, next.version, &body, &reason, &message, now)
            .await?
        {
            tracing::info!(%day, version = next.version, "daily report corrected");
            return Ok(Some(next));
        }
    }
    Ok(None)
}

/// The days before `today` (at most [`CORRECTION_DAYS`]) whose reports changed: corrected.
pub async fn correct_recent(
    store: &dyn Store,
    today: Date,
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let mut corrected = 0;
    for back in 1..=CORRECTION_DAYS {
        let day = today - Duration::days(back);
        if correct(store, day, None, now).await?.is_some() {
            corrected += 1;
        }
    }
    Ok(corrected)
}
