//! The built-in job handlers: a consent conversation's reminder and timeout, and the daily
//! voucher-expiry sweep, the daily report to NOBD and the табель notices. Each is idempotent: run twice, it changes things once.

use async_trait::async_trait;
use shared::time::{service_day, start_of_service_day, YearMonth};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::{JobError, JobHandler};
use crate::domain::job::JobKind;
use crate::domain::job::{Job, NewJob};
use crate::services::tabel::notices::{self, Notice};
use crate::services::Deps;
use crate::services::{reports, vouchers};

fn consent_id(job: &Job) -> Result<Uuid, JobError> {
    job.key
        .parse()
        .map_err(|_| JobError::Invalid(format!("{} job key is not a consent id", job.kind)))
}

/// Sends a conversation's reminder (if it still waits for a first answer).
pub struct ConsentRemind;

#[async_trait]
impl JobHandler for ConsentRemind {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError> {
        crate::services::consent::remind(deps, consent_id(job)?).await?;
        Ok(None)
    }
}

/// Ends a conversation nobody answered.
pub struct ConsentTimeout;

#[async_trait]
impl JobHandler for ConsentTimeout {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError> {
        crate::services::consent::time_out(deps, consent_id(job)?).await?;
        Ok(None)
    }
}

/// The sweep of the Astana day `day`, due when that day begins.
pub fn expiry_sweep(day: Date, now: OffsetDateTime) -> NewJob {
    NewJob::new(
        JobKind::VoucherExpiry,
        day.to_string(),
        start_of_service_day(day),
        now,
    )
}

/// Expires live vouchers whose last valid day has passed (at the end of the school year for
/// school meals), then schedules tomorrow's sweep. Terminals learn it at their next sync:
/// the transition moves the voucher on its school's roster.
pub struct VoucherExpiry;

#[async_trait]
impl JobHandler for VoucherExpiry {
    async fn run(&self, deps: &Deps, _job: &Job) -> Result<Option<NewJob>, JobError> {
        let now = deps.clock.now();
        let today = service_day(now);
        let expired = vouchers::expire_past_validity(deps.store.as_ref(), today, now).await?;
        if expired > 0 {
            tracing::info!(expired, %today, "vouchers past their validity expired");
        }
        Ok(Some(expiry_sweep(today + Duration::DAY, now)))
    }
}

/// Builds and queues the day's report, corrects the days before whose meals changed, then
/// schedules tomorrow's.
pub struct DailyReportJob;

#[async_trait]
impl JobHandler for DailyReportJob {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError> {
        let day: Date = Date::parse(
            &job.key,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| JobError::Invalid(format!("daily report key {:?} is not a date", job.key)))?;
        let report =
            reports::report_for(deps.store.as_ref(), deps.clock.as_ref(), day, true).await?;
        tracing::info!(%day, schools = report.schools.len(), "daily report built and queued");
        // Days before whose meals synced late since: their corrections (normally sent at
        // push time) go out now if a crash lost them.
        let corrected = reports::correct_recent(deps.store.as_ref(), day, deps.clock.now()).await?;
        if corrected > 0 {
            tracing::info!(%day, corrected, "earlier daily reports corrected");
        }
        Ok(Some(reports::report_job(
            day + Duration::DAY,
            deps.clock.now(),
        )))
    }
}

/// The job of one notice: queues it for its month, then schedules the next month's.
pub struct TabelNotice(pub Notice);

#[async_trait]
impl JobHandler for TabelNotice {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError> {
        let month: YearMonth = job.key.parse().map_err(|_| {
            JobError::Invalid(format!("{} key {:?} is not a month", job.kind, job.key))
        })?;
        let queued = notices::queue(deps.store.as_ref(), self.0, month, deps.clock.now()).await?;
        tracing::info!(kind = %job.kind, %month, queued, "табель notices queued");
        Ok(Some(self.0.job(month.next(), deps.clock.now())))
    }
}
