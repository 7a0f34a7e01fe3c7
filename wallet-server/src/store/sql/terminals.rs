//! Canteen terminals — enrollment, tokens, roster pulls, meal slots, meal pushes.

use async_trait::async_trait;
use shared::sync::{MealBatch, MealBatchResult, MealResult, MealSlot};
use shared::{Bin, VoucherId};
use sqlx::Row as _;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::audit::AuditEntry;
use crate::domain::meal::MealJudge;
use crate::domain::terminal::{NewTerminal, RosterPage, RosterRow, TerminalRecord};
use crate::domain::{Programme, School};
use crate::store::{parse_stored, MealPush, StoreError, TerminalStore};

const TERMINAL_COLUMNS: &str = "id, school_bin, name, enrolled_at, revoked_at, last_seen_at, \
     last_push_at, unsent_reported";

super::per_backend! {
    /// Numbers `school`'s changes marked `ROSTER_PENDING`, above every number handed out
    /// before, in one transaction that holds the school row: numbers follow commit order, and
    /// a change committed after the numbering stays marked for the next pull. Reads only when
    /// nothing is marked, so a quiet school's pulls write nothing.
    async fn number_roster_changes(store: &Store, school: &str) -> Result<(), StoreError> {
        let marked: Option<i64> = sqlx::query_scalar(
            "SELECT roster_seq FROM vouchers WHERE school_bin = $1 AND roster_seq = $2 LIMIT 1",
        )
        .bind(school)
        .bind(ROSTER_PENDING)
        .fetch_optional(&store.pool)
        .await?;
        if marked.is_none() {
            return Ok(());
        }
        let mut tx = write(store).await?;
        // A write to the school row takes its lock first (a no-op update, on both backends).
        let top: i64 = sqlx::query_scalar(
            "UPDATE schools SET roster_seq = roster_seq WHERE bin = $1 RETURNING roster_seq",
        )
        .bind(school)
        .fetch_one(&mut *tx)
        .await?;
        let numbered: Vec<i64> = sqlx::query_scalar(
            "UPDATE vouchers SET roster_seq = x.seq FROM (SELECT id, $3 + ROW_NUMBER() OVER \
             (ORDER BY id) AS seq FROM vouchers WHERE school_bin = $1 AND roster_seq = $2) x \
             WHERE vouchers.id = x.id AND vouchers.roster_seq = $2 RETURNING vouchers.roster_seq",
        )
        .bind(school)
        .bind(ROSTER_PENDING)
        .bind(top)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(last) = numbered.into_iter().max() {
            sqlx::query("UPDATE schools SET roster_seq = $2 WHERE bin = $1")
                .bind(school)
                .bind(last)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn terminal_from_row(r: &DbRow) -> Result<TerminalRecord, StoreError> {
        Ok(TerminalRecord {
            id: get_uuid(r, "id")?,
            school: parse_stored("school BIN", r.try_get("school_bin")?)?,
            name: r.try_get("name")?,
            enrolled_at: get_ts(r, "enrolled_at")?,
            revoked_at: get_opt_ts(r, "revoked_at")?,
            last_seen_at: get_opt_ts(r, "last_seen_at")?,
            last_push_at: get_opt_ts(r, "last_push_at")?,
            unsent_reported: r.try_get("unsent_reported")?,
        })
    }

    fn roster_from_row(r: &DbRow) -> Result<RosterRow, StoreError> {
        let card: Option<String> = r.try_get("card_uid")?;
        Ok(RosterRow {
            voucher_id: VoucherId::from_uuid(get_uuid(r, "id")?),
            student_name: r.try_get("full_name")?,
            class_label: r.try_get("class_label")?,
            card: card
                .as_deref()
                .map(|c| parse_stored("card UID", c))
                .transpose()?,
            state: parse_stored("voucher state", r.try_get("state")?)?,
            valid_from: get_date(r, "valid_from")?,
            valid_until: get_date(r, "valid_until")?,
            entitled: Vec::new(),
            shift: crate::store::sql::meal_push::stored_shift(r.try_get::<Option<SmallInt>, _>("shift")?)?,
            alert: r
                .try_get::<Option<String>, _>("alert")?
                .as_deref()
                .map(|a| parse_stored("alert line", a))
                .transpose()?,
        })
    }

    #[async_trait]
    impl TerminalStore for Store {
        async fn enroll_terminal(
            &self,
            code_hash: &str,
            terminal: &NewTerminal,
            now: OffsetDateTime,
        ) -> Result<School, StoreError> {
            let mut tx = write(self).await?;
            let code = sqlx::query(
                "SELECT school_bin, expires_at, used_at FROM enrollment_codes WHERE code_hash = $1",
            )
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            if get_opt_ts(&code, "used_at")?.is_some() {
                return Err(StoreError::Conflict {
                    current: "used".into(),
                });
            }
            if get_ts(&code, "expires_at")? <= now {
                return Err(StoreError::Conflict {
                    current: "expired".into(),
                });
            }
            let school: String = code.try_get("school_bin")?;
            sqlx::query(
                "UPDATE enrollment_codes SET used_at = $1, terminal_id = $2 WHERE code_hash = $3",
            )
            .bind(ts(now))
            .bind(uuid(terminal.id))
            .bind(code_hash)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO terminals (id, school_bin, name, token_hash, enrolled_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(uuid(terminal.id))
            .bind(&school)
            .bind(&terminal.name)
            .bind(&terminal.token_hash)
            .bind(ts(now))
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
            let mut tx = write(self).await?;
            let found = sqlx::query(
                "UPDATE terminals SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND school_bin = $3",
            )
            .bind(ts(audit.at))
            .bind(uuid(id))
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
                .bind(ts(now))
                .bind(uuid(id))
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        async fn roster_since(&self, school: Bin, cursor: i64) -> Result<RosterPage, StoreError> {
            number_roster_changes(self, &school.to_string()).await?;
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
                "SELECT v.id, v.student_iin, s.full_name, s.class_label, c.card_uid, v.state, v.valid_from, v.valid_until, \
                 cs.shift, a.line AS alert \
                 FROM vouchers v JOIN students s ON s.iin = v.student_iin \
                 LEFT JOIN cards c ON c.student_iin = v.student_iin \
                 LEFT JOIN class_shifts cs ON cs.school_bin = v.school_bin AND cs.class_label = s.class_label \
                 LEFT JOIN student_alerts a ON a.school_bin = v.school_bin AND a.student_iin = v.student_iin \
                 WHERE v.school_bin = $1 AND {filter} ORDER BY v.roster_seq"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(school.to_string())
                .bind(cursor)
                .bind(now_seq)
                .fetch_all(&mut *conn)
                .await?;
            let mut students = Vec::with_capacity(rows.len());
            for r in &rows {
                students.push(parse_stored("student IIN", r.try_get("student_iin")?)?);
            }
            let ranges =
                entitlements::ranges_at(&mut conn, Programme::SchoolMeals, school, &students).await?;
            let rows = rows
                .iter()
                .zip(&students)
                .map(|(r, s)| {
                    let mut row = roster_from_row(r)?;
                    row.entitled = ranges.get(s).cloned().unwrap_or_default();
                    Ok(row)
                })
                .collect::<Result<_, StoreError>>()?;
            Ok(RosterPage {
                cursor: now_seq,
                full,
                rows,
            })
        }

        async fn meal_slots(&self, school: Bin) -> Result<Vec<MealSlot>, StoreError> {
            let mut conn = self.pool.acquire().await?;
            meal_push::slots_of(&mut conn, school).await
        }

        async fn set_meal_slots(&self, school: Bin, slots: &[MealSlot]) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            sqlx::query("DELETE FROM meal_slots WHERE school_bin = $1")
                .bind(school.to_string())
                .execute(&mut *tx)
                .await?;
            // PostgreSQL keeps minutes as SMALLINT (a minute past it is never a valid slot, and is
            // stored as the largest); into SQLite's INTEGER the conversion cannot fail.
            #[allow(clippy::unnecessary_fallible_conversions)]
            let minute = |m: u16| SmallInt::try_from(m).unwrap_or(SmallInt::MAX);
            for s in slots {
                sqlx::query("INSERT INTO meal_slots (school_bin, name, start_minute, end_minute, shift) VALUES ($1, $2, $3, $4, $5)")
                    .bind(school.to_string())
                    .bind(&s.name)
                    .bind(minute(s.start_minute))
                    .bind(minute(s.end_minute))
                    .bind(s.shift.map(|n| SmallInt::from(n.get())))
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
            meal_group::retrying_deadlocks(|| record_meals_once(self, terminal, batch, now, &slots, judge))
                .await
        }

        async fn record_pushes(
            &self,
            pushes: &[MealPush<'_>],
        ) -> Result<Vec<MealBatchResult>, StoreError> {
            meal_group::retrying_deadlocks(|| meal_group::record_once(self, pushes)).await
        }
    }

    /// One attempt at a meal push, in one write transaction.
    async fn record_meals_once(
        store: &Store,
        terminal: &TerminalRecord,
        batch: &MealBatch,
        now: OffsetDateTime,
        slots: &[MealSlot],
        judge: MealJudge<'_>,
    ) -> Result<Vec<MealResult>, StoreError> {
        let mut tx = write(store).await?;
        // Pushes of one school take turns: two terminals' batches then never wait on each
        // other's meal rows in opposite orders.
        lock_school_pushes(&mut tx, terminal.school).await?;
        let results =
            meal_push::push_meals_in(&mut tx, terminal, batch, now, slots, judge).await?;
        tx.commit().await?;
        Ok(results)
    }
}
