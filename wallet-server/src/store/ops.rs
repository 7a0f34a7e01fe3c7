//! What the metrics read from storage at scrape time: each gauge family is one query, so a
//! scrape costs a handful of indexed reads whatever the traffic.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::domain::ops::{JobFacts, OutboxFacts, PoolFacts, SchoolContact};

/// Operational facts for the metrics endpoint.
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// The connection pool's counts right now (no query).
    fn pool_facts(&self) -> PoolFacts;

    /// Takes a connection from the pool and runs `SELECT 1` on it; answers how long the
    /// acquisition waited. An error means the database cannot be used.
    async fn probe_connection(&self) -> Result<std::time::Duration, StoreError>;

    /// The outbox per message kind that has pending or failed messages.
    async fn outbox_facts(&self, now: OffsetDateTime) -> Result<Vec<OutboxFacts>, StoreError>;

    /// The jobs per kind that has unfinished or failed jobs.
    async fn job_facts(&self, now: OffsetDateTime) -> Result<Vec<JobFacts>, StoreError>;

    /// Per school with active terminals, their last contact and their count by contact age.
    async fn terminal_contacts(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<SchoolContact>, StoreError>;
}
