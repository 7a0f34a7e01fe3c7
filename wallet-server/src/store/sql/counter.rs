//! The counter's storage (`store::CounterStore`): voids (`meal_void`), class shifts, alert
//! lines and today's counts. Every statement names the school, so one school never reads or
//! changes another's rows.

use std::collections::BTreeSet;

use async_trait::async_trait;
use shared::counter::{MealSeen, MealVoid, Shift, VoidResult, VoidVerdict};
use shared::time::YearMonth;
use shared::{AlertLine, Bin, ClassLabel, Iin, Label};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::audit::AuditEntry;
use crate::domain::terminal::TerminalRecord;
use crate::store::sql::meal_push::stored_shift;
use crate::store::{
    parse_stored, ClassShift, CounterStore, ExpectedStudent, SeenPage, ServedMeal, StoreError,
    WorkerManualCount,
};

/// Most meals of other terminals handed out in one pull (a day of a big school fits).
const SEEN_PAGE: i64 = 5000;

super::per_backend! {
    use sqlx::Row as _;

    /// Marks the live vouchers of `school`'s students in `class` as changed, so terminals
    /// pull them again.
    async fn class_roster_changed(
        conn: &mut Conn,
        school: Bin,
        class: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE vouchers SET roster_seq = $1 WHERE school_bin = $2 \
             AND state IN ('formed', 'activated') \
             AND student_iin IN (SELECT iin FROM students WHERE class_label = $3)",
        )
        .bind(ROSTER_PENDING)
        .bind(school.to_string())
        .bind(class)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn student_at_school_changed(
        conn: &mut Conn,
        school: Bin,
        student: Iin,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE vouchers SET roster_seq = $1 WHERE school_bin = $2 AND student_iin = $3 \
             AND state IN ('formed', 'activated')",
        )
        .bind(ROSTER_PENDING)
        .bind(school.to_string())
        .bind(student.expose())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    #[async_trait]
    impl CounterStore for Store {
        async fn void_terminal_meals(
            &self,
            terminal: &TerminalRecord,
            voids: &[MealVoid],
            now: OffsetDateTime,
        ) -> Result<Vec<VoidResult>, StoreError> {
            if voids.is_empty() {
                return Ok(Vec::new());
            }
            meal_void::for_terminal(self, terminal, voids, now).await
        }

        async fn void_school_meal(
            &self,
            school: Bin,
            event_id: Uuid,
            reason: &Label,
            audit: &AuditEntry,
        ) -> Result<VoidVerdict, StoreError> {
            meal_void::for_school(self, school, event_id, reason, audit).await
        }

        async fn meal_days(
            &self,
            school: Bin,
            event_ids: &[Uuid],
        ) -> Result<BTreeSet<Date>, StoreError> {
            let mut days = BTreeSet::new();
            if event_ids.is_empty() {
                return Ok(days);
            }
            let sql = format!(
                "SELECT DISTINCT service_day FROM meals WHERE school_bin = $1 AND event_id {}",
                in_list("$2")
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(school.to_string())
                .bind(uuid_list(event_ids))
                .persistent(false)
                .fetch_all(&self.pool)
                .await?;
            for r in rows {
                days.insert(get_date(&r, "service_day")?);
            }
            Ok(days)
        }

        async fn class_shifts(&self, school: Bin) -> Result<Vec<ClassShift>, StoreError> {
            let rows = sqlx::query(
                "SELECT class_label, shift FROM class_shifts WHERE school_bin = $1 ORDER BY class_label",
            )
            .bind(school.to_string())
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let shift = stored_shift(Some(r.try_get::<SmallInt, _>("shift")?))?
                        .ok_or_else(|| StoreError::Corrupt("stored shift".into()))?;
                    Ok(ClassShift { class_label: r.try_get("class_label")?, shift })
                })
                .collect()
        }

        async fn set_class_shift(
            &self,
            school: Bin,
            class: &ClassLabel,
            shift: Option<Shift>,
            audit: &AuditEntry,
        ) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            match shift {
                Some(s) => {
                    sqlx::query(
                        "INSERT INTO class_shifts (school_bin, class_label, shift) VALUES ($1, $2, $3) \
                         ON CONFLICT (school_bin, class_label) DO UPDATE SET shift = excluded.shift",
                    )
                    .bind(school.to_string())
                    .bind(class.as_str())
                    .bind(SmallInt::from(s.get()))
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM class_shifts WHERE school_bin = $1 AND class_label = $2")
                        .bind(school.to_string())
                        .bind(class.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            class_roster_changed(&mut tx, school, class.as_str()).await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn set_alert_line(
            &self,
            school: Bin,
            student: Iin,
            line: Option<&AlertLine>,
            audit: &AuditEntry,
        ) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            let ours: Option<String> = sqlx::query_scalar(
                "SELECT iin FROM students WHERE iin = $1 AND school_bin = $2",
            )
            .bind(student.expose())
            .bind(school.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if ours.is_none() {
                return Err(StoreError::NotFound);
            }
            match line {
                Some(l) => {
                    sqlx::query(
                        "INSERT INTO student_alerts (school_bin, student_iin, line, set_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (school_bin, student_iin) DO UPDATE SET line = excluded.line, set_at = excluded.set_at",
                    )
                    .bind(school.to_string())
                    .bind(student.expose())
                    .bind(l.as_str())
                    .bind(ts(audit.at))
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM student_alerts WHERE school_bin = $1 AND student_iin = $2")
                        .bind(school.to_string())
                        .bind(student.expose())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            student_at_school_changed(&mut tx, school, student).await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn alert_lines(&self, school: Bin) -> Result<Vec<(Iin, AlertLine)>, StoreError> {
            let rows = sqlx::query(
                "SELECT student_iin, line FROM student_alerts WHERE school_bin = $1 ORDER BY student_iin",
            )
            .bind(school.to_string())
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        parse_stored("student IIN", r.try_get("student_iin")?)?,
                        parse_stored("alert line", r.try_get("line")?)?,
                    ))
                })
                .collect()
        }

        async fn expected_students(
            &self,
            school: Bin,
            day: Date,
        ) -> Result<Vec<ExpectedStudent>, StoreError> {
            let rows = sqlx::query(
                "SELECT DISTINCT s.iin, s.class_label, cs.shift \
                 FROM vouchers v JOIN students s ON s.iin = v.student_iin \
                 LEFT JOIN class_shifts cs ON cs.school_bin = v.school_bin AND cs.class_label = s.class_label \
                 WHERE v.school_bin = $1 AND v.programme = 'school_meals' AND v.state = 'activated' \
                 AND v.valid_from <= $2 AND v.valid_until >= $3 \
                 AND EXISTS (SELECT 1 FROM entitlements e WHERE e.programme = v.programme \
                 AND e.student_iin = v.student_iin AND e.school_bin = v.school_bin \
                 AND e.month = $4 AND e.source = 'list')",
            )
            .bind(school.to_string())
            .bind(date(day))
            .bind(date(day))
            .bind(YearMonth::of(day).to_string())
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ExpectedStudent {
                        class_label: r.try_get("class_label")?,
                        shift: stored_shift(r.try_get::<Option<SmallInt>, _>("shift")?)?,
                    })
                })
                .collect()
        }

        async fn served_meals(&self, school: Bin, day: Date) -> Result<Vec<ServedMeal>, StoreError> {
            let rows = sqlx::query(
                "SELECT s.class_label, m.slot FROM meals m JOIN students s ON s.iin = m.student_iin \
                 WHERE m.school_bin = $1 AND m.service_day = $2 AND m.status = 'accepted'",
            )
            .bind(school.to_string())
            .bind(date(day))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ServedMeal {
                        class_label: r.try_get("class_label")?,
                        slot: r.try_get("slot")?,
                    })
                })
                .collect()
        }

        async fn manual_meals_per_worker(
            &self,
            school: Bin,
            day: Date,
        ) -> Result<Vec<WorkerManualCount>, StoreError> {
            let rows = sqlx::query(
                "SELECT worker, COUNT(*) AS meals FROM meals WHERE school_bin = $1 AND service_day = $2 \
                 AND status = 'accepted' AND method = 'manual' GROUP BY worker ORDER BY worker",
            )
            .bind(school.to_string())
            .bind(date(day))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let n: i64 = r.try_get("meals")?;
                    Ok(WorkerManualCount {
                        worker: r.try_get("worker")?,
                        meals: u32::try_from(n).unwrap_or(u32::MAX),
                    })
                })
                .collect()
        }

        async fn meals_seen(
            &self,
            school: Bin,
            terminal: Uuid,
            day: Date,
            after: i64,
        ) -> Result<SeenPage, StoreError> {
            let mut conn = self.pool.acquire().await?;
            // The school's number first: meals of a push committed after it are left for next time.
            let now_seq: i64 = sqlx::query_scalar("SELECT meals_seq FROM schools WHERE bin = $1")
                .bind(school.to_string())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)?;
            let rows = sqlx::query(
                "SELECT m.voucher_id, m.slot, m.service_day, m.served_at, m.method, m.school_seq, t.name \
                 FROM meals m JOIN terminals t ON t.id = m.terminal_id AND t.school_bin = m.school_bin \
                 WHERE m.school_bin = $1 AND m.service_day = $2 AND m.status = 'accepted' \
                 AND m.terminal_id <> $3 AND m.school_seq > $4 AND m.school_seq <= $5 \
                 ORDER BY m.school_seq, m.served_at LIMIT $6",
            )
            .bind(school.to_string())
            .bind(date(day))
            .bind(uuid(terminal))
            .bind(after)
            .bind(now_seq)
            .bind(SEEN_PAGE)
            .fetch_all(&mut *conn)
            .await?;
            let mut cursor = now_seq;
            let mut meals = Vec::with_capacity(rows.len());
            for r in &rows {
                let method: String = r.try_get("method")?;
                meals.push(MealSeen {
                    voucher_id: shared::VoucherId::from_uuid(get_uuid(r, "voucher_id")?),
                    slot: parse_stored("slot", r.try_get("slot")?)?,
                    service_day: get_date(r, "service_day")?,
                    served_at: get_ts(r, "served_at")?,
                    terminal: r.try_get("name")?,
                    method: method
                        .parse()
                        .map_err(|_| StoreError::Corrupt("stored meal method".into()))?,
                });
                cursor = r.try_get("school_seq")?;
            }
            // A full page may stop inside a push: the rest of it comes next time.
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < SEEN_PAGE {
                cursor = now_seq;
            } else {
                cursor -= 1;
            }
            Ok(SeenPage { meals, cursor })
        }
    }
}
