//! Daily report facts per school, and stored reports.

use async_trait::async_trait;
use shared::time::{end_of_service_day, start_of_service_day, YearMonth};
use shared::Bin;
use sqlx::Row;
use time::{Date, OffsetDateTime};

super::per_backend! {
    use crate::domain::report::SchoolDay;
    use crate::domain::outbox::OutboxMessage;
    use crate::store::{ReportStore, StoreError};

    /// A day's figures per school: `$1`/`$2` the day's bounds, `$3` the day.
    const DAY_FACTS: &str = "SELECT sc.bin, \
         (SELECT COUNT(*) FROM vouchers v WHERE v.school_bin = sc.bin AND v.formed_at >= $1 AND v.formed_at < $2) AS formed, \
         (SELECT COUNT(*) FROM vouchers v WHERE v.school_bin = sc.bin AND v.activated_at >= $1 AND v.activated_at < $2) AS activated, \
         (SELECT COUNT(*) FROM vouchers v WHERE v.school_bin = sc.bin AND v.state = 'revoked' AND v.updated_at >= $1 AND v.updated_at < $2) AS revoked, \
         (SELECT COUNT(*) FROM meals m WHERE m.school_bin = sc.bin AND m.service_day = $3 AND m.status = 'accepted') AS served, \
         (SELECT COUNT(*) FROM meals m WHERE m.school_bin = sc.bin AND m.service_day = $3 AND m.status = 'duplicate') AS duplicates, \
         (SELECT COUNT(DISTINCT m.student_iin) FROM meals m WHERE m.school_bin = sc.bin AND m.service_day = $3 AND m.status = 'accepted') AS fed \
         FROM schools sc";

    fn school_day(r: &DbRow) -> Result<SchoolDay, StoreError> {
        Ok(SchoolDay {
            bin: r.try_get("bin")?,
            vouchers_formed: r.try_get("formed")?,
            vouchers_activated: r.try_get("activated")?,
            vouchers_revoked: r.try_get("revoked")?,
            meals_served: r.try_get("served")?,
            duplicates: r.try_get("duplicates")?,
            students_fed: r.try_get("fed")?,
        })
    }

    #[async_trait]
    impl ReportStore for Store {
        async fn daily_facts(&self, day: Date) -> Result<Vec<SchoolDay>, StoreError> {
            let sql = format!("{DAY_FACTS} ORDER BY sc.bin");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ts(start_of_service_day(day)))
                .bind(ts(end_of_service_day(day)))
                .bind(date(day))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(school_day).collect()
        }

        async fn school_day_facts(
            &self,
            day: Date,
            school: Bin,
        ) -> Result<Option<SchoolDay>, StoreError> {
            let sql = format!("{DAY_FACTS} WHERE sc.bin = $4");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ts(start_of_service_day(day)))
                .bind(ts(end_of_service_day(day)))
                .bind(date(day))
                .bind(school.to_string())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(school_day).transpose()
        }

        async fn schools_with_vouchers(&self, month: YearMonth) -> Result<Vec<Bin>, StoreError> {
            let bins: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT school_bin FROM vouchers \
                 WHERE programme = 'school_meals' AND valid_from <= $1 AND valid_until >= $2 \
                 AND formed_at < $3 AND NOT (state IN ('revoked', 'expired') AND updated_at < $4) \
                 ORDER BY school_bin",
            )
            .bind(date(month.last_day()))
            .bind(date(month.first_day()))
            .bind(ts(end_of_service_day(month.last_day())))
            .bind(ts(start_of_service_day(month.first_day())))
            .fetch_all(&self.pool)
            .await?;
            bins.iter()
                .map(|b| {
                    b.parse()
                        .map_err(|_| StoreError::Corrupt(format!("school BIN {b:?}")))
                })
                .collect()
        }

        async fn stored_report(&self, day: Date) -> Result<Option<String>, StoreError> {
            let latest: Option<String> = sqlx::query_scalar(
                "SELECT body FROM daily_report_versions WHERE report_date = $1 \
                 ORDER BY version DESC LIMIT 1",
            )
            .bind(date(day))
            .fetch_optional(&self.pool)
            .await?;
            if latest.is_some() {
                return Ok(latest);
            }
            Ok(
                sqlx::query_scalar("SELECT body FROM daily_reports WHERE report_date = $1")
                    .bind(date(day))
                    .fetch_optional(&self.pool)
                    .await?,
            )
        }

        async fn save_report_version(
            &self,
            day: Date,
            version: u32,
            body: &str,
            reason: &str,
            m: &OutboxMessage,
            now: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            let mut tx = write(self).await?;
            let inserted = sqlx::query(
                "INSERT INTO daily_report_versions (report_date, version, body, reason, built_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(date(day))
            .bind(i64::from(version))
            .bind(body)
            .bind(reason)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
            jobs::insert_message(&mut tx, m).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn save_report(
            &self,
            day: Date,
            body: &str,
            m: &OutboxMessage,
            now: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            let mut tx = write(self).await?;
            let inserted = sqlx::query(
                "INSERT INTO daily_reports (report_date, body, built_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(date(day))
            .bind(body)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
            jobs::insert_message(&mut tx, m).await?;
            tx.commit().await?;
            Ok(true)
        }
    }
}
