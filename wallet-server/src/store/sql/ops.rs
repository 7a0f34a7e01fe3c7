//! The metrics' scrape-time reads (`OpsStore`): one aggregate query per gauge family. The
//! outbox and job queries read only unfinished or failed rows (`outbox_due`, `jobs_due`
//! indexes lead with the state), the terminal query the terminals table.

use async_trait::async_trait;
use sqlx::Row as _;
use time::OffsetDateTime;

use crate::domain::ops::{
    ContactAge, JobFacts, OutboxFacts, PoolFacts, SchoolContact, JOB_OVERDUE_AFTER,
};

/// The instant bounds of the contact-age buckets, newest first: `now - bound`.
fn contact_bounds(now: OffsetDateTime) -> [OffsetDateTime; 3] {
    let [a, b, c, _] = ContactAge::ALL.map(|age| age.bound().map(|d| now - d).unwrap_or(now));
    [a, b, c]
}

super::per_backend! {
    use crate::store::{OpsStore, StoreError};

    #[async_trait]
    impl OpsStore for Store {
        fn pool_facts(&self) -> PoolFacts {
            PoolFacts {
                size: self.pool.size(),
                idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                max: self.pool.options().get_max_connections(),
            }
        }

        async fn probe_connection(&self) -> Result<std::time::Duration, StoreError> {
            let started = std::time::Instant::now();
            let mut conn = self.pool.acquire().await?;
            let waited = started.elapsed();
            sqlx::query("SELECT 1").execute(&mut *conn).await?;
            Ok(waited)
        }

        async fn outbox_facts(&self, now: OffsetDateTime) -> Result<Vec<OutboxFacts>, StoreError> {
            let rows = sqlx::query(
                "SELECT kind, \
                 SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending, \
                 SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed, \
                 MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest_pending, \
                 MIN(CASE WHEN state = 'pending' AND next_attempt_at <= $1 \
                     THEN next_attempt_at END) AS oldest_due \
                 FROM outbox WHERE state IN ('pending', 'failed') GROUP BY kind ORDER BY kind",
            )
            .bind(ts(now))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(OutboxFacts {
                        kind: r.try_get("kind")?,
                        pending: r.try_get("pending")?,
                        failed: r.try_get("failed")?,
                        oldest_pending: get_opt_ts(r, "oldest_pending")?,
                        oldest_due: get_opt_ts(r, "oldest_due")?,
                    })
                })
                .collect()
        }

        async fn job_facts(&self, now: OffsetDateTime) -> Result<Vec<JobFacts>, StoreError> {
            let rows = sqlx::query(
                "SELECT kind, \
                 SUM(CASE WHEN state IN ('pending', 'running') AND due_at <= $1 THEN 1 ELSE 0 END) AS due, \
                 SUM(CASE WHEN state IN ('pending', 'running') AND due_at <= $2 THEN 1 ELSE 0 END) AS overdue, \
                 SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed \
                 FROM jobs WHERE state IN ('pending', 'running', 'failed') GROUP BY kind ORDER BY kind",
            )
            .bind(ts(now))
            .bind(ts(now - JOB_OVERDUE_AFTER))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(JobFacts {
                        kind: r.try_get("kind")?,
                        due: r.try_get("due")?,
                        overdue: r.try_get("overdue")?,
                        failed: r.try_get("failed")?,
                    })
                })
                .collect()
        }

        async fn terminal_contacts(
            &self,
            now: OffsetDateTime,
        ) -> Result<Vec<SchoolContact>, StoreError> {
            let [under_5m, under_1h, under_1d] = contact_bounds(now);
            let rows = sqlx::query(
                "SELECT school_bin, MAX(COALESCE(last_seen_at, enrolled_at)) AS last_contact, \
                 SUM(CASE WHEN COALESCE(last_seen_at, enrolled_at) >= $1 THEN 1 ELSE 0 END) AS a, \
                 SUM(CASE WHEN COALESCE(last_seen_at, enrolled_at) >= $2 THEN 1 ELSE 0 END) AS b, \
                 SUM(CASE WHEN COALESCE(last_seen_at, enrolled_at) >= $3 THEN 1 ELSE 0 END) AS c, \
                 COUNT(*) AS n \
                 FROM terminals WHERE revoked_at IS NULL GROUP BY school_bin ORDER BY school_bin",
            )
            .bind(ts(under_5m))
            .bind(ts(under_1h))
            .bind(ts(under_1d))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    // Cumulative counts (within 5 min ⊂ within 1 h ⊂ …) → disjoint buckets.
                    let (a, b, c, n): (i64, i64, i64, i64) =
                        (r.try_get("a")?, r.try_get("b")?, r.try_get("c")?, r.try_get("n")?);
                    let bin: String = r.try_get("school_bin")?;
                    Ok(SchoolContact {
                        school: bin.parse().map_err(|_| {
                            StoreError::Corrupt("stored school BIN does not parse".into())
                        })?,
                        last_contact: get_ts(r, "last_contact")?,
                        by_age: [a, b - a, c - b, n - c],
                    })
                })
                .collect()
        }
    }
}
