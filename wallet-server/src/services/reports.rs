//! The daily report to NOBD: per school and Astana day, vouchers formed, activated and
//! revoked, billable meals, duplicates, and distinct students fed.
//!
//! A scheduled job builds each day's report at 23:30 Astana time, stores it and queues it in
//! the outbox in one transaction; building a stored day again returns the stored content, so
//! NOBD never receives two different reports for one day.

use shared::time::Clock;
use shared::time::{service_day, start_of_service_day};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::job::JobKind;
use crate::domain::job::NewJob;
use crate::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use crate::domain::report::{DailyReport, NOBD};
use crate::store::{Store, StoreError};

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
    if let Some(stored) = store.stored_report(day).await? {
        return serde_json::from_str(&stored)
            .map_err(|_| StoreError::Corrupt("stored daily report".into()));
    }
    let report = DailyReport {
        date: day,
        schools: store.daily_facts(day).await?,
    };
    if !queue {
        return Ok(report);
    }
    let body = serde_json::to_string(&report)
        .map_err(|_| StoreError::Corrupt("daily report JSON".into()))?;
    let now = clock.now();
    let message = OutboxMessage {
        id: Uuid::now_v7(),
        kind: OutboxKind::Report,
        recipient: NOBD.into(),
        body: body.clone(),
        state: OutboxState::Pending,
        attempts: 0,
        created_at: now,
        next_attempt_at: now,
        sent_at: None,
    };
    // A concurrent build of the same day loses the insert: read back the winner's.
    if !store.save_report(day, &body, &message, now).await? {
        return Box::pin(report_for(store, clock, day, false)).await;
    }
    Ok(report)
}

/// Schedules today's report (idempotent: the job key is the date).
pub async fn seed(store: &dyn Store, now: OffsetDateTime) -> Result<(), StoreError> {
    store
        .schedule_job(&report_job(service_day(now), now))
        .await?;
    Ok(())
}
