//! The facts a табель is built from (with the school's calendar and the director's
//! confirmations of meals on non-school days), frozen approvals and meal prices.

use async_trait::async_trait;
use shared::time::{end_of_service_day, start_of_service_day, YearMonth};
use shared::{Bin, Iin};

/// A meal as the табель reads it (without `received_at`, which each query picks): a voided
/// meal shows the void's reason.
pub(crate) const MEAL_FACT_COLUMNS: &str =
    "m.event_id, m.student_iin, m.service_day, m.slot, m.status, \
     CASE WHEN m.status = 'voided' THEN m.void_reason ELSE m.reason END AS reason, \
     m.method, m.manual_reason, m.worker, \
     CAST(CASE WHEN c.event_id IS NULL THEN 0 ELSE 1 END AS SMALLINT) AS confirmed";
/// The meals with the director's confirmations of meals on non-school days.
pub(crate) const MEAL_FACT_FROM: &str = "meals m LEFT JOIN off_day_confirmations c \
     ON c.school_bin = m.school_bin AND c.event_id = m.event_id";

super::per_backend! {
    use sqlx::Row;
    use time::OffsetDateTime;

    use crate::domain::audit::AuditEntry;
    use crate::domain::calendar::SchoolYear;
    use crate::domain::{Programme, School};
    use crate::store::{StoreError, TabelStore, parse_stored};
    use crate::domain::tabel::StoredApproval;
    use crate::domain::meal::MealStatus;
    use crate::domain::tabel::{MealFact, TabelFacts, TabelStudent, previous};


    fn student_from_row(r: &DbRow) -> Result<(Iin, TabelStudent), StoreError> {
        Ok((
            parse_stored("student IIN", r.try_get("iin")?)?,
            TabelStudent {
                class_label: r.try_get("class_label")?,
                full_name: r.try_get("full_name")?,
                category: parse_stored("category", r.try_get("category")?)?,
            },
        ))
    }

    /// A meal with whether the director confirmed it on a non-school day (`confirmed`).
    pub(in crate::store) fn meal_from_row(r: &DbRow) -> Result<MealFact, StoreError> {
        Ok(MealFact {
            event_id: get_uuid(r, "event_id")?,
            student: parse_stored("student IIN", r.try_get("student_iin")?)?,
            service_day: get_date(r, "service_day")?,
            slot: r.try_get("slot")?,
            status: parse_stored::<MealStatus>("meal status", r.try_get("status")?)?,
            reason: r.try_get("reason")?,
            received_at: get_ts(r, "received_at")?,
            confirmed_off_day: r.try_get::<SmallInt, _>("confirmed")? != 0,
            manual: match r.try_get::<Option<String>, _>("manual_reason")? {
                Some(reason) if r.try_get::<String, _>("method")? == "manual" => {
                    Some((reason, r.try_get("worker")?))
                }
                _ => None,
            },
        })
    }

    async fn approval(
        conn: &mut Conn,
        school: Bin,
        month: YearMonth,
    ) -> Result<Option<StoredApproval>, StoreError> {
        let row = sqlx::query(
            "SELECT approved_at, approved_by, content_hash, body FROM tabel_approvals \
             WHERE school_bin = $1 AND month = $2",
        )
        .bind(school.to_string())
        .bind(month.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| {
            Ok(StoredApproval {
                approved_at: get_ts(&r, "approved_at")?,
                approved_by: r.try_get("approved_by")?,
                content_hash: r.try_get("content_hash")?,
                body: r.try_get("body")?,
            })
        })
        .transpose()
    }

    async fn students_of_month(
        conn: &mut Conn,
        school: Bin,
        month: YearMonth,
    ) -> Result<Vec<(Iin, TabelStudent)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT s.iin, s.full_name, s.class_label, s.category \
             FROM vouchers v JOIN students s ON s.iin = v.student_iin \
             WHERE v.school_bin = $1 AND v.programme = 'school_meals' \
             AND v.valid_from <= $2 AND v.valid_until >= $3 AND v.formed_at < $4 \
             AND NOT (v.state IN ('revoked', 'expired') AND v.updated_at < $5) \
             AND EXISTS (SELECT 1 FROM entitlements e WHERE e.programme = v.programme \
             AND e.student_iin = v.student_iin AND e.school_bin = v.school_bin \
             AND e.month = $6 AND e.source = 'list')",
        )
        .bind(school.to_string())
        .bind(date(month.last_day()))
        .bind(date(month.first_day()))
        .bind(ts(end_of_service_day(month.last_day())))
        .bind(ts(start_of_service_day(month.first_day())))
        .bind(month.to_string())
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(student_from_row).collect()
    }

    async fn meals_between(
        conn: &mut Conn,
        school: Bin,
        month: YearMonth,
        received_after: Option<OffsetDateTime>,
    ) -> Result<Vec<MealFact>, StoreError> {
        let rows =
            match received_after {
                None => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {MEAL_FACT_COLUMNS}, m.received_at FROM {MEAL_FACT_FROM} \
                     WHERE m.school_bin = $1 AND m.service_day BETWEEN $2 AND $3"
                )))
                .bind(school.to_string())
                .bind(date(month.first_day()))
                .bind(date(month.last_day()))
                .fetch_all(&mut *conn)
                .await?,
                Some(after) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {MEAL_FACT_COLUMNS}, m.received_at FROM {MEAL_FACT_FROM} \
                     WHERE m.school_bin = $1 AND m.service_day BETWEEN $2 AND $3 \
                     AND m.status = 'accepted' AND m.received_at > $4"
                )))
                .bind(school.to_string())
                .bind(date(month.first_day()))
                .bind(date(month.last_day()))
                .bind(ts(after))
                .fetch_all(&mut *conn)
                .await?,
            };
        rows.iter().map(meal_from_row).collect()
    }

    /// Meals of `month` counted in its approval (received by `approved_at`) and voided after
    /// it: the next month's negative adjustments. `received_at` is the void's time.
    async fn voided_after_approval(
        conn: &mut Conn,
        school: Bin,
        month: YearMonth,
        approved_at: OffsetDateTime,
    ) -> Result<Vec<MealFact>, StoreError> {
        let sql = format!(
            "SELECT {MEAL_FACT_COLUMNS}, m.voided_at AS received_at FROM {MEAL_FACT_FROM} \
             WHERE m.school_bin = $1 AND m.service_day BETWEEN $2 AND $3 \
             AND m.status = 'voided' AND m.void_kind = 'adjustment' AND m.received_at <= $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school.to_string())
            .bind(date(month.first_day()))
            .bind(date(month.last_day()))
            .bind(ts(approved_at))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(meal_from_row).collect()
    }

    #[async_trait]
    impl TabelStore for Store {
        async fn tabel_facts(
            &self,
            school: Bin,
            month: YearMonth,
            default_price_tiyn: i64,
        ) -> Result<TabelFacts, StoreError> {
            let mut conn = self.pool.acquire().await?;
            let name: String = sqlx::query_scalar("SELECT name FROM schools WHERE bin = $1")
                .bind(school.to_string())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)?;
            let students = students_of_month(&mut conn, school, month).await?;
            // The previous month's school year too: its late meals are judged by its days.
            let calendar = calendar::load_calendar(
                &mut conn,
                school,
                SchoolYear::of(previous(month).first_day()),
                SchoolYear::of(month.first_day()),
            )
            .await?;
            let meals = meals_between(&mut conn, school, month, None).await?;
            let prev = previous(month);
            let (late_from_previous, voided_from_previous) =
                match approval(&mut conn, school, prev).await? {
                    Some(a) => (
                        meals_between(&mut conn, school, prev, Some(a.approved_at)).await?,
                        voided_after_approval(&mut conn, school, prev, a.approved_at).await?,
                    ),
                    None => (Vec::new(), Vec::new()),
                };
            let others = sqlx::query(
                "SELECT DISTINCT s.iin, s.full_name, s.class_label, s.category FROM meals m \
                 JOIN students s ON s.iin = m.student_iin \
                 WHERE m.school_bin = $1 AND m.service_day BETWEEN $2 AND $3",
            )
            .bind(school.to_string())
            .bind(date(prev.first_day()))
            .bind(date(month.last_day()))
            .fetch_all(&mut *conn)
            .await?;
            let other_students = others
                .iter()
                .map(student_from_row)
                .collect::<Result<_, _>>()?;
            let mut slots: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM meal_slots WHERE school_bin = $1 ORDER BY start_minute",
            )
            .bind(school.to_string())
            .fetch_all(&mut *conn)
            .await?;
            if slots.is_empty() {
                slots.push("day".into());
            }
            let price: Option<i64> = sqlx::query_scalar(
                "SELECT price_tiyn FROM meal_prices WHERE school_bin = $1 AND programme = 'school_meals'",
            )
            .bind(school.to_string())
            .fetch_optional(&mut *conn)
            .await?;
            Ok(TabelFacts {
                school: School { bin: school, name },
                students,
                meals,
                late_from_previous,
                voided_from_previous,
                other_students,
                slots,
                meal_price_tiyn: price.unwrap_or(default_price_tiyn),
                calendar,
            })
        }

        async fn tabel_approval(
            &self,
            school: Bin,
            month: YearMonth,
        ) -> Result<Option<StoredApproval>, StoreError> {
            let mut conn = self.pool.acquire().await?;
            approval(&mut conn, school, month).await
        }

        async fn approve_tabel(
            &self,
            school: Bin,
            month: YearMonth,
            a: &StoredApproval,
            audit: &AuditEntry,
        ) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            let inserted = sqlx::query(
                "INSERT INTO tabel_approvals (school_bin, month, approved_at, approved_by, content_hash, body) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_bin, month) DO NOTHING",
            )
            .bind(school.to_string())
            .bind(month.to_string())
            .bind(ts(a.approved_at))
            .bind(&a.approved_by)
            .bind(&a.content_hash)
            .bind(&a.body)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(StoreError::Conflict {
                    current: "approved".into(),
                });
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn set_meal_price(
            &self,
            school: Bin,
            programme: Programme,
            price_tiyn: i64,
            now: OffsetDateTime,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO meal_prices (school_bin, programme, price_tiyn, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (school_bin, programme) DO UPDATE SET price_tiyn = excluded.price_tiyn, \
                 updated_at = excluded.updated_at",
            )
            .bind(school.to_string())
            .bind(programme.as_str())
            .bind(price_tiyn)
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }
    }
}
