//! The daily report to NOBD: per school and Astana day, vouchers formed, activated and
//! revoked, billable meals, duplicates, and distinct students fed.
//!
//! A scheduled job builds each day's report at 23:30 Astana time, stores it and queues it in
//! the outbox in one transaction; building a stored day again returns the stored content, so
//! NOBD never receives two different reports for one day.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shared::time::{service_day, start_of_service_day};
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::jobs::{JobError, JobHandler, JobKind};
use crate::store::{Job, NewJob, OutboxKind, OutboxMessage, OutboxState, StoreError};

/// Where reports are addressed in the outbox.
pub const NOBD: &str = "nobd";

/// One school's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SchoolDay {
    pub bin: String,
    pub vouchers_formed: i64,
    pub vouchers_activated: i64,
    pub vouchers_revoked: i64,
    /// Billable meals.
    pub meals_served: i64,
    pub duplicates: i64,
    pub students_fed: i64,
}

/// The report of one day (DESIGN.md §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DailyReport {
    /// `YYYY-MM-DD`, Astana.
    #[schema(value_type = String)]
    pub date: Date,
    pub schools: Vec<SchoolDay>,
}

/// The job that builds the report of the Astana day `day`, due at 23:30 that day.
pub fn report_job(day: Date, now: OffsetDateTime) -> NewJob {
    let due = start_of_service_day(day) + Duration::hours(23) + Duration::minutes(30);
    NewJob::new(JobKind::DailyReport, day.to_string(), due, now)
}

/// Builds (or reads back) the report of a day; `queue` also stores it and queues it for NOBD.
pub async fn report_for(
    state: &AppState,
    day: Date,
    queue: bool,
) -> Result<DailyReport, StoreError> {
    if let Some(stored) = state.store.stored_report(day).await? {
        return serde_json::from_str(&stored)
            .map_err(|_| StoreError::Corrupt("stored daily report".into()));
    }
    let report = DailyReport {
        date: day,
        schools: state.store.daily_facts(day).await?,
    };
    if !queue {
        return Ok(report);
    }
    let body = serde_json::to_string(&report)
        .map_err(|_| StoreError::Corrupt("daily report JSON".into()))?;
    let now = state.clock.now();
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
    if !state.store.save_report(day, &body, &message, now).await? {
        return Box::pin(report_for(state, day, false)).await;
    }
    Ok(report)
}

/// Builds and queues the day's report, then schedules tomorrow's.
pub struct DailyReportJob;

#[async_trait]
impl JobHandler for DailyReportJob {
    async fn run(&self, state: &AppState, job: &Job) -> Result<Option<NewJob>, JobError> {
        let day: Date = Date::parse(
            &job.key,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| JobError::Invalid(format!("daily report key {:?} is not a date", job.key)))?;
        let report = report_for(state, day, true).await?;
        tracing::info!(%day, schools = report.schools.len(), "daily report built and queued");
        Ok(Some(report_job(day + Duration::DAY, state.clock.now())))
    }
}

/// Schedules today's report (idempotent: the job key is the date).
pub async fn seed(state: &AppState) -> Result<(), StoreError> {
    let now = state.clock.now();
    state
        .store
        .schedule_job(&report_job(service_day(now), now))
        .await?;
    Ok(())
}
