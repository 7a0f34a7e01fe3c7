//! SQLite: the durable jobs of the scheduler and the delivery side of the outbox.
//!
//! Claims run inside `BEGIN IMMEDIATE`, which holds the database's single write lock: two
//! workers (even in two processes on one file) can never claim the same row. A cheap read
//! first skips the write lock when nothing is due, since workers poll every second.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{date, parse_ts, ts, voucher_from_row, SqliteStore, VOUCHER_COLUMNS};
use crate::jobs::JobKind;
use crate::store::{
    parse_stored, Claim, Job, JobStore, NewJob, OutboxKind, OutboxMessage, OutboxStore, Retry,
    StoreError,
};
use crate::vouchers::Voucher;

type Conn = sqlx::SqliteConnection;

const JOB_COLUMNS: &str = "id, kind, job_key, due_at, state, attempts, locked_by, locked_until, \
     last_error, created_at, finished_at";

const OUTBOX_COLUMNS: &str =
    "id, kind, recipient, body, state, attempts, created_at, next_attempt_at, sent_at";

fn opt_ts(row: &SqliteRow, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    let value: Option<String> = row.try_get(column)?;
    value.as_deref().map(parse_ts).transpose()
}

fn job_from_row(r: &SqliteRow) -> Result<Job, StoreError> {
    Ok(Job {
        id: parse_stored("job id", r.try_get("id")?)?,
        kind: parse_stored("job kind", r.try_get("kind")?)?,
        key: r.try_get("job_key")?,
        due_at: parse_ts(r.try_get("due_at")?)?,
        state: parse_stored("job state", r.try_get("state")?)?,
        attempts: r.try_get("attempts")?,
        locked_by: r.try_get("locked_by")?,
        locked_until: opt_ts(r, "locked_until")?,
        last_error: r.try_get("last_error")?,
        created_at: parse_ts(r.try_get("created_at")?)?,
        finished_at: opt_ts(r, "finished_at")?,
    })
}

fn message_from_row(r: &SqliteRow) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: parse_stored("outbox id", r.try_get("id")?)?,
        kind: parse_stored("outbox kind", r.try_get("kind")?)?,
        recipient: r.try_get("recipient")?,
        body: r.try_get("body")?,
        state: parse_stored("outbox state", r.try_get("state")?)?,
        attempts: r.try_get("attempts")?,
        created_at: parse_ts(r.try_get("created_at")?)?,
        next_attempt_at: parse_ts(r.try_get("next_attempt_at")?)?,
        sent_at: opt_ts(r, "sent_at")?,
    })
}

/// `?, ?, ?` for an `IN (…)` of `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

/// Schedules a job inside an open transaction; `false` if (kind, key) already exists.
pub(super) async fn insert_job(conn: &mut Conn, job: &NewJob) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO jobs (id, kind, job_key, due_at, state, attempts, created_at) \
         VALUES (?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT (kind, job_key) DO NOTHING",
    )
    .bind(job.id.to_string())
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
         next_attempt_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(m.id.to_string())
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

const DUE_JOBS: &str =
    "((state = 'pending' AND due_at <= ?) OR (state = 'running' AND locked_until <= ?))";

#[async_trait]
impl JobStore for SqliteStore {
    async fn schedule_job(&self, job: &NewJob) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let inserted = insert_job(&mut tx, job).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn claim_jobs(&self, kinds: &[JobKind], c: Claim<'_>) -> Result<Vec<Job>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let filter = format!("kind IN ({}) AND {DUE_JOBS}", placeholders(kinds.len()));
        let now = ts(c.now);
        let mut probe = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE {filter})"
        )));
        for k in kinds {
            probe = probe.bind(k.as_str());
        }
        if probe.bind(&now).bind(&now).fetch_one(&self.pool).await? == 0 {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let sql = format!(
            "UPDATE jobs SET state = 'running', locked_by = ?, locked_until = ?, \
             attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE {filter} \
             ORDER BY due_at, id LIMIT ?) RETURNING {JOB_COLUMNS}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(c.worker)
            .bind(ts(c.now + c.lease));
        for k in kinds {
            query = query.bind(k.as_str());
        }
        let rows = query
            .bind(&now)
            .bind(&now)
            .bind(c.limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
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
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at = ?, locked_by = NULL, \
             locked_until = NULL WHERE id = ? AND state = 'running' AND locked_by = ?",
        )
        .bind(ts(now))
        .bind(id.to_string())
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
            "UPDATE jobs SET state = 'failed', finished_at = ?, last_error = ?, locked_by = NULL, \
             locked_until = NULL WHERE id = ? AND state = 'running' AND locked_by = ?"
        } else {
            "UPDATE jobs SET state = 'pending', due_at = ?, last_error = ?, locked_by = NULL, \
             locked_until = NULL WHERE id = ? AND state = 'running' AND locked_by = ?"
        };
        let mut tx = self.write().await?;
        let changed = sqlx::query(sql)
            .bind(ts(r.at))
            .bind(r.error)
            .bind(id.to_string())
            .bind(r.worker)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(changed == 1)
    }

    async fn job(&self, kind: JobKind, key: &str) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE kind = ? AND job_key = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(kind.as_str())
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY due_at DESC, id DESC LIMIT ?");
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
             AND v.valid_until < ? ORDER BY v.valid_until, v.id LIMIT ?"
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
impl OutboxStore for SqliteStore {
    async fn enqueue_message(&self, message: &OutboxMessage) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        insert_message(&mut tx, message).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_messages(
        &self,
        kinds: &[OutboxKind],
        c: Claim<'_>,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let filter = format!(
            "state = 'pending' AND kind IN ({}) AND next_attempt_at <= ? \
             AND (locked_until IS NULL OR locked_until <= ?)",
            placeholders(kinds.len())
        );
        let now = ts(c.now);
        let mut probe = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE {filter})"
        )));
        for k in kinds {
            probe = probe.bind(k.as_str());
        }
        if probe.bind(&now).bind(&now).fetch_one(&self.pool).await? == 0 {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let sql = format!(
            "UPDATE outbox SET locked_by = ?, locked_until = ?, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE {filter} ORDER BY created_at, id LIMIT ?) \
             RETURNING {OUTBOX_COLUMNS}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(c.worker)
            .bind(ts(c.now + c.lease));
        for k in kinds {
            query = query.bind(k.as_str());
        }
        let rows = query
            .bind(&now)
            .bind(&now)
            .bind(c.limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut messages = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        messages.sort_by_key(|a| (a.created_at, a.id));
        Ok(messages)
    }

    async fn message_sent(&self, id: Uuid, at: OffsetDateTime) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = ?, locked_by = NULL, locked_until = NULL, \
             last_error = NULL WHERE id = ? AND state = 'pending'",
        )
        .bind(ts(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(changed == 1)
    }

    async fn message_retry(&self, id: Uuid, r: &Retry<'_>) -> Result<bool, StoreError> {
        let sql = if r.give_up {
            "UPDATE outbox SET state = 'failed', next_attempt_at = ?, last_error = ?, \
             locked_by = NULL, locked_until = NULL \
             WHERE id = ? AND state = 'pending' AND locked_by = ?"
        } else {
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?, locked_by = NULL, \
             locked_until = NULL WHERE id = ? AND state = 'pending' AND locked_by = ?"
        };
        let mut tx = self.write().await?;
        let changed = sqlx::query(sql)
            .bind(ts(r.at))
            .bind(r.error)
            .bind(id.to_string())
            .bind(r.worker)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(changed == 1)
    }

    async fn outbox_message(&self, id: Uuid) -> Result<Option<OutboxMessage>, StoreError> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }
}
