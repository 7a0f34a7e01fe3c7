//! The daily job of the signals of misuse: computes its day once (the scheduler runs a
//! `(kind, key)` once; a run again after a crash replaces the same signals) and schedules
//! the next day's.

use super::{JobError, JobHandler};
use crate::domain::job::{Job, NewJob};
use crate::services::{signals, Deps};
use async_trait::async_trait;

/// Computes the signals of the day in the job's key.
pub struct SignalsJob;

#[async_trait]
impl JobHandler for SignalsJob {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError> {
        let day = shared::time::parse_date(&job.key)
            .map_err(|_| JobError::Invalid(format!("signals key {:?} is not a date", job.key)))?;
        let next = signals::daily(deps.store.as_ref(), day, deps.clock.now()).await?;
        Ok(Some(next))
    }
}
