//! What a metrics scrape reads from the store: one bounded query per gauge family. A
//! database that is down or slow must not hang the scrape (Prometheus would record the
//! target as down and lose every other family): each read gets [`READ_TIMEOUT`], and what
//! did not answer is left out of the snapshot.

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::ops::OpsSnapshot;
use crate::store::{Store, StoreError};

/// Longest wait for one scrape-time read (Prometheus' default scrape timeout is 10 s).
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads the operational facts at `now`.
pub async fn snapshot(store: &dyn Store, now: OffsetDateTime) -> OpsSnapshot {
    // The pool as the traffic left it, before the probe and the reads below take from it.
    let pool = store.pool_facts();
    // The probe first: when the database cannot be used, the other reads would only wait.
    let acquire_wait = bounded("connection probe", store.probe_connection()).await;
    let (outbox, jobs, terminals) = if acquire_wait.is_some() {
        tokio::join!(
            bounded("outbox facts", store.outbox_facts(now)),
            bounded("job facts", store.job_facts(now)),
            bounded("terminal contacts", store.terminal_contacts(now)),
        )
    } else {
        (None, None, None)
    };
    OpsSnapshot {
        now,
        pool,
        acquire_wait,
        outbox,
        jobs,
        terminals,
    }
}

async fn bounded<T>(what: &str, read: impl Future<Output = Result<T, StoreError>>) -> Option<T> {
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: reading {what} failed");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: reading {what} timed out");
            None
        }
    }
}
