//! The durable jobs of the scheduler and the delivery side of the outbox.
//!
//! A claim is one write transaction whose UPDATE picks due rows and leases them. On
//! PostgreSQL the picking subquery adds `FOR UPDATE SKIP LOCKED` (the dialect's
//! `SKIP_LOCKED`): several server processes on one database each take different due rows,
//! never the same one, and never wait on each other. On SQLite the write transaction
//! (`BEGIN IMMEDIATE`) holds the database's single write lock, so two workers (even in two
//! processes on one file) can never claim the same row. On both, a cheap read first skips
//! the write when nothing is due, since workers poll every second.

use async_trait::async_trait;
use sqlx::Row as _;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::job::JobKind;
use crate::domain::job::{Job, NewJob};
use crate::domain::outbox::{OutboxKind, OutboxMessage};
use crate::domain::voucher::Voucher;
use crate::store::{parse_stored, Claim, JobStore, OutboxStore, Retry, StoreError};

super::per_backend! {
    const JOB_COLUMNS: &str = "id, kind, job_key, due_at, state, attempts, locked_by, locked_until, \
         last_error, created_at, finished_at";

    const OUTBOX_COLUMNS: &str =
        "id, kind, recipient, body, state, attempts, created_at, next_attempt_at, sent_at";

    fn job_from_row(r: &DbRow) -> Result<Job, StoreError> {
        Ok(Job {
            id: get_uuid(r, "id")?,
            kind: parse_stored("job kind", r.try_get("kind")?)?,
            key: r.try_get("job_key")?,
            due_at: get_ts(r, "due_at")?,
            state: parse_stored("job state", r.try_get("state")?)?,
            attempts: r.try_get("attempts")?,
            locked_by: r.try_get("locked_by")?,
            locked_until: get_opt_ts(r, "locked_until")?,
            last_error: r.try_get("last_error")?,
            created_at: get_ts(r, "created_at")?,
            finished_at: get_opt_ts(r, "finished_at")?,
        })
    }

    /// An outbox row (also the wallet's outbox listing in `records`).
    pub(in crate::store) fn message_from_row(r: &DbRow) -> Result<OutboxMessage, StoreError> {
        Ok(OutboxMessage {
            id: get_uuid(r, "id")?,
            kind: parse_stored("outbox kind", r.try_get("kind")?)?,
            recipient: r.try_get("recipient")?,
            body: r.try_get("body")?,
            state: parse_stored("outbox state", r.try_get("state")?)?,
            attempts: r.try_get("attempts")?,
            created_at: get_ts(r, "created_at")?,
            next_attempt_at: get_ts(r, "next_attempt_at")?,
            sent_at: get_opt_ts(r, "sent_at")?,
        })
    }

    /// Schedules a job inside an open transaction; `false` if (kind, key) already exists.
    pub(in crate::store) async fn insert_job(
        conn: &mut Conn,
        job: &NewJob,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, kind, job_key, due_at, state, attempts, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5) ON CONFLICT (kind, job_key) DO NOTHING",
        )
        .bind(uuid(job.id))
        .bind(job.kind.as_str())
        .bind(&job.key)
        .bind(ts(job.due_at))
        .bind(ts(job.created_at))
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Queues an outgoing message inside an open transaction.
    pub(in crate::store) async fn insert_message(
        conn: &mut Conn,
        m: &OutboxMessage,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO outbox (id, kind, recipient, body, state, attempts, created_at, \
             next_attempt_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(uuid(m.id))
        .bind(m.kind.as_str())
        .bind(&m.recipient)
        .bind(&m.body)
        .bind(m.state.as_str())
        .bind(m.attempts)
        .bind(ts(m.created_at))
        .bind(ts(m.next_attempt_at))
        .bind(m.sent_at.map(ts))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Due jobs: `$1` the kinds (a `text_list`), `$2` now.
    fn due_jobs() -> String {
        format!(
            "kind {} AND ((state = 'pending' AND due_at <= $2) \
             OR (state = 'running' AND locked_until <= $2))",
            in_list("$1")
        )
    }

    /// Due messages: `$1` the kinds (a `text_list`), `$2` now.
    fn due_messages() -> String {
        format!(
            "state = 'pending' AND kind {} AND next_attempt_at <= $2 \
             AND (locked_until IS NULL OR locked_until <= $2)",
            in_list("$1")
        )
    }

    /// Whether `table` has a row matching `filter` (whose parameters are `$1` kinds, `$2` now).
    async fn any_due(
        store: &Store,
        table: &str,
        filter: &str,
        kinds: &[&str],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql =
            format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {filter} LIMIT 1) AS due");
        let due: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(text_list(kinds))
            .bind(ts(now))
            .fetch_one(&store.pool)
            .await?;
        Ok(due > 0)
    }

    #[async_trait]
    impl JobStore for Store {
        async fn schedule_job(&self, job: &NewJob) -> Result<bool, StoreError> {
            let mut tx = write(self).await?;
            let inserted = insert_job(&mut tx, job).await?;
            tx.commit().await?;
            Ok(inserted)
        }

        async fn claim_jobs(
            &self,
            kinds: &[JobKind],
            c: Claim<'_>,
        ) -> Result<Vec<Job>, StoreError> {
            let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            let filter = due_jobs();
            if kinds.is_empty() || !any_due(self, "jobs", &filter, &kinds, c.now).await? {
                return Ok(Vec::new());
            }
            let sql = format!(
                "UPDATE jobs SET state = 'running', locked_by = $3, locked_until = $4, \
                 attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE {filter} \
                 ORDER BY due_at, id LIMIT $5{SKIP_LOCKED}) RETURNING {JOB_COLUMNS}"
            );
            let rows = claim_rows(self, sql, &kinds, &c).await?;
            let mut jobs = rows
                .iter()
                .map(job_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            jobs.sort_by_key(|a| (a.due_at, a.id));
            Ok(jobs)
        }

        async fn complete_job(
            &self,
            id: Uuid,
            worker: &str,
            now: OffsetDateTime,
            next: Option<&NewJob>,
        ) -> Result<bool, StoreError> {
            let mut tx = write(self).await?;
            let done = sqlx::query(
                "UPDATE jobs SET state = 'done', finished_at = $1, locked_by = NULL, \
                 locked_until = NULL WHERE id = $2 AND state = 'running' AND locked_by = $3",
            )
            .bind(ts(now))
            .bind(uuid(id))
            .bind(worker)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if let (true, Some(next)) = (done, next) {
                insert_job(&mut tx, next).await?;
            }
            tx.commit().await?;
            Ok(done)
        }

        async fn retry_job(&self, id: Uuid, r: &Retry<'_>) -> Result<bool, StoreError> {
            let sql = if r.give_up {
                "UPDATE jobs SET state = 'failed', finished_at = $1, last_error = $2, locked_by = NULL, \
                 locked_until = NULL WHERE id = $3 AND state = 'running' AND locked_by = $4"
            } else {
                "UPDATE jobs SET state = 'pending', due_at = $1, last_error = $2, locked_by = NULL, \
                 locked_until = NULL WHERE id = $3 AND state = 'running' AND locked_by = $4"
            };
            release(self, sql, id, r).await
        }

        async fn job(&self, kind: JobKind, key: &str) -> Result<Option<Job>, StoreError> {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 AND job_key = $2");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(kind.as_str())
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(job_from_row).transpose()
        }

        async fn jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError> {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY due_at DESC, id DESC LIMIT $1");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(job_from_row).collect()
        }

        async fn vouchers_past_validity(
            &self,
            today: Date,
            limit: i64,
        ) -> Result<Vec<Voucher>, StoreError> {
            let sql = format!(
                "SELECT {VOUCHER_COLUMNS} FROM vouchers v WHERE v.state IN ('formed', 'activated') \
                 AND v.valid_until < $1 ORDER BY v.valid_until, v.id LIMIT $2"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(date(today))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(voucher_from_row).collect()
        }
    }

    #[async_trait]
    impl OutboxStore for Store {
        async fn enqueue_message(&self, message: &OutboxMessage) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            insert_message(&mut tx, message).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn claim_messages(
            &self,
            kinds: &[OutboxKind],
            c: Claim<'_>,
        ) -> Result<Vec<OutboxMessage>, StoreError> {
            let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            let filter = due_messages();
            if kinds.is_empty() || !any_due(self, "outbox", &filter, &kinds, c.now).await? {
                return Ok(Vec::new());
            }
            let sql = format!(
                "UPDATE outbox SET locked_by = $3, locked_until = $4, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM outbox WHERE {filter} \
                 ORDER BY created_at, id LIMIT $5{SKIP_LOCKED}) RETURNING {OUTBOX_COLUMNS}"
            );
            let rows = claim_rows(self, sql, &kinds, &c).await?;
            let mut messages = rows
                .iter()
                .map(message_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            messages.sort_by_key(|a| (a.created_at, a.id));
            Ok(messages)
        }

        async fn message_sent(&self, id: Uuid, at: OffsetDateTime) -> Result<bool, StoreError> {
            let mut tx = write(self).await?;
            let changed = sqlx::query(
                "UPDATE outbox SET state = 'sent', sent_at = $1, locked_by = NULL, locked_until = NULL, \
                 last_error = NULL WHERE id = $2 AND state = 'pending'",
            )
            .bind(ts(at))
            .bind(uuid(id))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(changed == 1)
        }

        async fn message_retry(&self, id: Uuid, r: &Retry<'_>) -> Result<bool, StoreError> {
            let sql = if r.give_up {
                "UPDATE outbox SET state = 'failed', next_attempt_at = $1, last_error = $2, \
                 locked_by = NULL, locked_until = NULL \
                 WHERE id = $3 AND state = 'pending' AND locked_by = $4"
            } else {
                "UPDATE outbox SET next_attempt_at = $1, last_error = $2, locked_by = NULL, \
                 locked_until = NULL WHERE id = $3 AND state = 'pending' AND locked_by = $4"
            };
            release(self, sql, id, r).await
        }

        async fn outbox_message(&self, id: Uuid) -> Result<Option<OutboxMessage>, StoreError> {
            let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(uuid(id))
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(message_from_row).transpose()
        }

        async fn messages_to(
            &self,
            recipient: &str,
            kind: OutboxKind,
            limit: i64,
        ) -> Result<Vec<OutboxMessage>, StoreError> {
            let sql = format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE recipient = $1 AND kind = $2 \
                 ORDER BY created_at DESC, id DESC LIMIT $3"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(recipient)
                .bind(kind.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            let mut messages = rows
                .iter()
                .map(message_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            messages.reverse();
            Ok(messages)
        }
    }

    /// Runs a queue's claim, `sql`: an UPDATE … RETURNING whose parameters are the kinds ($1),
    /// now ($2), the worker ($3), the lease's end ($4) and the batch size ($5).
    async fn claim_rows(
        store: &Store,
        sql: String,
        kinds: &[&str],
        c: &Claim<'_>,
    ) -> Result<Vec<DbRow>, StoreError> {
        let mut tx = write(store).await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_list(kinds))
            .bind(ts(c.now))
            .bind(c.worker)
            .bind(ts(c.now + c.lease))
            .bind(c.limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Releases a claimed item its worker could not finish, `sql`: an UPDATE whose parameters
    /// are the next attempt's time ($1), the error ($2), the id ($3) and the worker ($4), and
    /// which changes the row only while that worker holds it; whether it did.
    async fn release(store: &Store, sql: &'static str, id: Uuid, r: &Retry<'_>) -> Result<bool, StoreError> {
        let mut tx = write(store).await?;
        let changed = sqlx::query(sql)
            .bind(ts(r.at))
            .bind(r.error)
            .bind(uuid(id))
            .bind(r.worker)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(changed == 1)
    }
}
