//! PostgreSQL: canteen terminals — enrollment, tokens, roster pulls, meal slots, meal pushes.

use async_trait::async_trait;
use shared::sync::{MealBatch, MealResult, MealSlot};
use shared::{Bin, VoucherId};
use sqlx::postgres::PgRow;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{insert_audit, PostgresStore};
use crate::audit::AuditEntry;
use crate::domain::School;
use crate::store::{
    parse_stored, MealJudge, NewTerminal, RosterPage, RosterRow, StoreError, TerminalRecord,
    TerminalStore,
};

const TERMINAL_COLUMNS: &str = "id, school_bin, name, enrolled_at, revoked_at, last_seen_at, \
     last_push_at, unsent_reported";

fn opt_ts(r: &PgRow, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    Ok(r.try_get(column)?)
}

fn terminal_from_row(r: &PgRow) -> Result<TerminalRecord, StoreError> {
    Ok(TerminalRecord {
        id: r.try_get("id")?,
        school: parse_stored("school BIN", r.try_get("school_bin")?)?,
        name: r.try_get("name")?,
        enrolled_at: r.try_get("enrolled_at")?,
        revoked_at: opt_ts(r, "revoked_at")?,
        last_seen_at: opt_ts(r, "last_seen_at")?,
        last_push_at: opt_ts(r, "last_push_at")?,
        unsent_reported: r.try_get("unsent_reported")?,
    })
}

fn roster_from_row(r: &PgRow) -> Result<RosterRow, StoreError> {
    let card: Option<String> = r.try_get("card_uid")?;
    Ok(RosterRow {
        voucher_id: VoucherId::from_uuid(r.try_get("id")?),
        student_name: r.try_get("full_name")?,
        class_label: r.try_get("class_label")?,
        card: card
            .as_deref()
            .map(|c| parse_stored("card UID", c))
            .transpose()?,
        state: parse_stored("voucher state", r.try_get("state")?)?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
    })
}

#[async_trait]
impl TerminalStore for PostgresStore {
    async fn enroll_terminal(
        &self,
        code_hash: &str,
        terminal: &NewTerminal,
        now: OffsetDateTime,
    ) -> Result<School, StoreError> {
        let mut tx = self.pool.begin().await?;
        let code = sqlx::query(
            "SELECT school_bin, expires_at, used_at FROM enrollment_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let used: Option<OffsetDateTime> = code.try_get("used_at")?;
        if used.is_some() {
            return Err(StoreError::Conflict {
                current: "used".into(),
            });
        }
        let expires_at: OffsetDateTime = code.try_get("expires_at")?;
        if expires_at <= now {
            return Err(StoreError::Conflict {
                current: "expired".into(),
            });
        }
        let school: String = code.try_get("school_bin")?;
        sqlx::query(
            "UPDATE enrollment_codes SET used_at = $1, terminal_id = $2 WHERE code_hash = $3",
        )
        .bind(now)
        .bind(terminal.id)
        .bind(code_hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO terminals (id, school_bin, name, token_hash, enrolled_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(terminal.id)
        .bind(&school)
        .bind(&terminal.name)
        .bind(&terminal.token_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let name: String = sqlx::query_scalar("SELECT name FROM schools WHERE bin = $1")
            .bind(&school)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(School {
            bin: parse_stored("school BIN", &school)?,
            name,
        })
    }

    async fn terminal_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<TerminalRecord>, StoreError> {
        let sql = format!(
            "SELECT {TERMINAL_COLUMNS} FROM terminals WHERE token_hash = $1 AND revoked_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(terminal_from_row).transpose()
    }

    async fn terminals_of_school(&self, school: Bin) -> Result<Vec<TerminalRecord>, StoreError> {
        let sql = format!(
            "SELECT {TERMINAL_COLUMNS} FROM terminals WHERE school_bin = $1 ORDER BY enrolled_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(terminal_from_row).collect()
    }

    async fn revoke_terminal(
        &self,
        school: Bin,
        id: Uuid,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let found = sqlx::query(
            "UPDATE terminals SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND school_bin = $3",
        )
        .bind(audit.at)
        .bind(id)
        .bind(school.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if found == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn touch_terminal(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE terminals SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn roster_since(&self, school: Bin, cursor: i64) -> Result<RosterPage, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // Read the school's number first: a change committed after it is left for next time.
        let now_seq: i64 = sqlx::query_scalar("SELECT roster_seq FROM schools WHERE bin = $1")
            .bind(school.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        let full = cursor <= 0 || cursor > now_seq;
        let filter = if full {
            "v.state = 'activated' AND $2 >= 0 AND v.roster_seq <= $3"
        } else {
            "v.roster_seq > $2 AND v.roster_seq <= $3"
        };
        let sql = format!(
            "SELECT v.id, s.full_name, s.class_label, c.card_uid, v.state, v.valid_from, v.valid_until \
             FROM vouchers v JOIN students s ON s.iin = v.student_iin \
             LEFT JOIN cards c ON c.student_iin = v.student_iin \
             WHERE v.school_bin = $1 AND {filter} ORDER BY v.roster_seq"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school.to_string())
            .bind(cursor)
            .bind(now_seq)
            .fetch_all(&mut *conn)
            .await?;
        let rows = rows.iter().map(roster_from_row).collect::<Result<_, _>>()?;
        Ok(RosterPage {
            cursor: now_seq,
            full,
            rows,
        })
    }

    async fn meal_slots(&self, school: Bin) -> Result<Vec<MealSlot>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, start_minute, end_minute FROM meal_slots WHERE school_bin = $1 ORDER BY start_minute",
        )
        .bind(school.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let minute = |c: &str| -> Result<u16, StoreError> {
                    let v: i16 = r.try_get(c)?;
                    u16::try_from(v).map_err(|_| StoreError::Corrupt("stored slot minute".into()))
                };
                Ok(MealSlot {
                    name: r.try_get("name")?,
                    start_minute: minute("start_minute")?,
                    end_minute: minute("end_minute")?,
                })
            })
            .collect()
    }

    async fn set_meal_slots(&self, school: Bin, slots: &[MealSlot]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM meal_slots WHERE school_bin = $1")
            .bind(school.to_string())
            .execute(&mut *tx)
            .await?;
        for s in slots {
            sqlx::query("INSERT INTO meal_slots (school_bin, name, start_minute, end_minute) VALUES ($1, $2, $3, $4)")
                .bind(school.to_string())
                .bind(&s.name)
                .bind(i16::try_from(s.start_minute).unwrap_or(i16::MAX))
                .bind(i16::try_from(s.end_minute).unwrap_or(i16::MAX))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn record_meals(
        &self,
        terminal: &TerminalRecord,
        batch: &MealBatch,
        now: OffsetDateTime,
        judge: MealJudge<'_>,
    ) -> Result<Vec<MealResult>, StoreError> {
        let slots = self.meal_slots(terminal.school).await?;
        // Pushes of a school are serialised (`record_meals_once`), but a student's meals can
        // still meet across schools (a student who moved); should PostgreSQL abort a push as
        // a deadlock, nothing of that attempt is kept, so it is run again.
        let mut attempt = 1;
        loop {
            match self
                .record_meals_once(terminal, batch, now, &slots, judge)
                .await
            {
                Err(e) if attempt < MEAL_PUSH_ATTEMPTS && is_deadlock(&e) => {
                    tracing::warn!(attempt, error = %e, "meal push aborted by a deadlock; retrying");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// The advisory lock namespace of meal pushes (the school's BIN is the other key).
const MEAL_PUSH_LOCK: i32 = 0x4D45_414C; // "MEAL"

/// How often a meal push aborted by a deadlock is tried in all.
const MEAL_PUSH_ATTEMPTS: u32 = 5;

/// SQLSTATE 40P01 (deadlock detected) or 40001 (serialization failure).
fn is_deadlock(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001"))
        }
        _ => false,
    }
}

impl PostgresStore {
    async fn record_meals_once(
        &self,
        terminal: &TerminalRecord,
        batch: &MealBatch,
        now: OffsetDateTime,
        slots: &[MealSlot],
        judge: MealJudge<'_>,
    ) -> Result<Vec<MealResult>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Pushes of one school take turns (as every write does on SQLite): two terminals'
        // batches then never wait on each other's meal rows in opposite orders.
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(MEAL_PUSH_LOCK)
            .bind(terminal.school.to_string())
            .execute(&mut *tx)
            .await?;
        let results =
            super::meal_push::record_batch(&mut tx, terminal, &batch.events, now, slots, judge)
                .await?;
        sqlx::query("UPDATE terminals SET last_push_at = $1, last_seen_at = $2, unsent_reported = $3 WHERE id = $4")
            .bind(now)
            .bind(now)
            .bind(batch.unsent_after.and_then(|n| i64::try_from(n).ok()))
            .bind(terminal.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(results)
    }
}
