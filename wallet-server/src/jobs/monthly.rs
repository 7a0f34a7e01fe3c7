//! The jobs of a monthly programme (gas): a recipient's one reminder, the close of the
//! reply window, and the month's handover to the provider. Each handler carries its
//! programme's rules; each is idempotent (compare-and-set moves, a derived message id).

use async_trait::async_trait;
use uuid::Uuid;

use super::{JobError, JobHandler};
use crate::domain::job::{Job, NewJob};
use crate::domain::monthly::MonthlyRules;
use crate::services::monthly;
use crate::services::Deps;

fn consent_id(job: &Job) -> Result<Uuid, JobError> {
    job.key
        .parse()
        .map_err(|_| JobError::Invalid(format!("{} job key is not a consent id", job.kind)))
}

/// Sends a recipient's reminder (if they have not answered).
pub struct MonthlyRemind(pub MonthlyRules);

#[async_trait]
impl JobHandler for MonthlyRemind {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError> {
        monthly::remind(deps, &self.0, consent_id(job)?).await?;
        Ok(None)
    }
}

/// Ends a conversation whose reply window closed.
pub struct MonthlyTimeout;

#[async_trait]
impl JobHandler for MonthlyTimeout {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError> {
        monthly::time_out(deps, consent_id(job)?).await?;
        Ok(None)
    }
}

/// Hands a month over to the provider (key `gas:YYYY-MM`).
pub struct MonthlyHandover(pub MonthlyRules);

#[async_trait]
impl JobHandler for MonthlyHandover {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError> {
        let month = job
            .key
            .split_once(':')
            .and_then(|(_, m)| m.parse().ok())
            .ok_or_else(|| {
                JobError::Invalid(format!("handover key {:?} names no month", job.key))
            })?;
        monthly::hand_over(deps, &self.0, month).await?;
        Ok(None)
    }
}
