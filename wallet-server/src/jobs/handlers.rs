//! The built-in job handlers: a consent conversation's reminder and timeout, and the daily
//! voucher-expiry sweep. Each is idempotent: run twice, it changes things once.

use async_trait::async_trait;
use shared::time::{service_day, start_of_service_day};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::{JobError, JobHandler, JobKind};
use crate::app::AppState;
use crate::audit::{Actor, AuditEntry};
use crate::store::{Job, NewJob, StoreError};
use crate::vouchers::VoucherState;

/// Vouchers expired per query in one sweep.
const EXPIRY_BATCH: i64 = 500;

fn consent_id(job: &Job) -> Result<Uuid, JobError> {
    job.key
        .parse()
        .map_err(|_| JobError::Invalid(format!("{} job key is not a consent id", job.kind)))
}

/// Sends a conversation's reminder (if it still waits for a first answer).
pub struct ConsentRemind;

#[async_trait]
impl JobHandler for ConsentRemind {
    async fn run(&self, state: &AppState, job: &Job) -> Result<Option<NewJob>, JobError> {
        crate::consent::remind(state, consent_id(job)?).await?;
        Ok(None)
    }
}

/// Ends a conversation nobody answered.
pub struct ConsentTimeout;

#[async_trait]
impl JobHandler for ConsentTimeout {
    async fn run(&self, state: &AppState, job: &Job) -> Result<Option<NewJob>, JobError> {
        crate::consent::time_out(state, consent_id(job)?).await?;
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
    async fn run(&self, state: &AppState, _job: &Job) -> Result<Option<NewJob>, JobError> {
        let now = state.clock.now();
        let today = service_day(now);
        let expired = expire_before(state, today, now).await?;
        if expired > 0 {
            tracing::info!(expired, %today, "vouchers past their validity expired");
        }
        Ok(Some(expiry_sweep(today + Duration::DAY, now)))
    }
}

async fn expire_before(
    state: &AppState,
    today: Date,
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let mut expired = 0;
    // Bounded: every round either expires vouchers or sees them change under it.
    for _ in 0..10_000 {
        let batch = state
            .store
            .vouchers_past_validity(today, EXPIRY_BATCH)
            .await?;
        for v in &batch {
            let audit = AuditEntry {
                at: now,
                actor: Actor::System,
                entity_kind: "voucher",
                entity_id: v.id.to_string(),
                action: "expire".into(),
                from_state: Some(v.state.to_string()),
                to_state: Some(VoucherState::Expired.to_string()),
                reason: Some(format!(
                    "valid until {}: the period has ended",
                    v.valid_until
                )),
            };
            match state
                .store
                .transition_voucher(v.id, v.state, VoucherState::Expired, &audit)
                .await
            {
                Ok(_) => expired += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if i64::try_from(batch.len()).unwrap_or(0) < EXPIRY_BATCH {
            break;
        }
    }
    Ok(expired)
}
