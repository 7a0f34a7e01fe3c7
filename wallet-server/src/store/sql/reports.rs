//! Daily report facts per school, and stored reports. Every view reads in one statement:
//! a day's report for NOBD (`report_of_day`: the stored latest version, else the live facts)
//! and a school's run of days for the console (`school_days`: stored figures where the day's
//! report was built, live counts elsewhere).

use async_trait::async_trait;
use shared::time::{end_of_service_day, start_of_service_day, YearMonth};
use shared::Bin;
use sqlx::Row;
use time::{Date, OffsetDateTime};

super::per_backend! {
    use crate::domain::report::{SchoolDay, SchoolMeals};
    use crate::domain::outbox::OutboxMessage;
    use crate::store::{DayFigures, DayReport, ReportStore, StoreError};

    /// A day's figures per school, `$1` the day and `$2`/`$3` its bounds: the voucher
    /// figures, then [`MEAL_COUNTS`] and `FROM schools sc`.
    const DAY_FACTS: &str = "SELECT sc.bin, \
         (SELECT COUNT(*) FROM vouchers v WHERE v.school_bin = sc.bin AND v.formed_at >= $2 AND v.formed_at < $3) AS formed, \
         (SELECT COUNT(*) FROM vouchers v WHERE v.school_bin = sc.bin AND v.activated_at >= $2 AND v.activated_at < $3) AS activated, \
         (SELECT COUNT(*) FROM vouchers v WHERE v.school_bin = sc.bin AND v.state = 'revoked' AND v.updated_at >= $2 AND v.updated_at < $3) AS revoked, ";

    /// The meal figures of the school `sc` on the day `$1`: all a correction counts.
    const MEAL_COUNTS: &str = "\
         (SELECT COUNT(*) FROM meals m WHERE m.school_bin = sc.bin AND m.service_day = $1 AND m.status = 'accepted') AS served, \
         (SELECT COUNT(*) FROM meals m WHERE m.school_bin = sc.bin AND m.service_day = $1 AND m.status = 'duplicate') AS duplicates, \
         (SELECT COUNT(DISTINCT m.student_iin) FROM meals m WHERE m.school_bin = sc.bin AND m.service_day = $1 AND m.status = 'accepted') AS fed";

    fn school_day(r: &DbRow) -> Result<SchoolDay, StoreError> {
        figures(r, r.try_get("bin")?)
    }

    /// A row of `bin` and [`MEAL_COUNTS`].
    fn school_meals(r: &DbRow) -> Result<SchoolMeals, StoreError> {
        Ok(SchoolMeals {
            bin: r.try_get("bin")?,
            served: r.try_get("served")?,
            duplicates: r.try_get("duplicates")?,
            fed: r.try_get("fed")?,
        })
    }

    /// The latest stored version of the day `$1`: corrections in `daily_report_versions`,
    /// version 1 in `daily_reports`.
    const STORED_LATEST: &str = "SELECT body FROM (SELECT body, version FROM daily_report_versions \
         WHERE report_date = $1 UNION ALL SELECT body, 1 AS version FROM daily_reports \
         WHERE report_date = $1) stored ORDER BY version DESC LIMIT 1";

    /// The day `$1`'s report in one statement: its latest stored body when it was built (one
    /// row, `bin` NULL), else every school's live facts (`stored` NULL). The facts' scan runs
    /// only when nothing is stored (an uncorrelated, once-evaluated `NOT EXISTS`).
    const REPORT_OF_DAY_HEAD: &str = "WITH stored AS (SELECT body, version FROM \
         daily_report_versions WHERE report_date = $1 UNION ALL SELECT body, 1 AS version \
         FROM daily_reports WHERE report_date = $1) \
         SELECT latest.body AS stored, NULL AS bin, 0 AS formed, 0 AS activated, 0 AS revoked, \
         0 AS served, 0 AS duplicates, 0 AS fed \
         FROM (SELECT body FROM stored ORDER BY version DESC LIMIT 1) latest \
         UNION ALL SELECT NULL AS stored, facts.* FROM (";

    /// One school's days `$4..=$5` (instants `$2..$3`) in one statement, a row per source:
    /// `live` counts per Astana day, `stored` figures per report version, `built` per day
    /// whose report exists (a school missing from a built report had nothing that day).
    const SCHOOL_DAYS_LIVE: &str = "SELECT 'live' AS src, day, 0 AS version, \
         SUM(formed) AS formed, SUM(activated) AS activated, SUM(revoked) AS revoked, \
         SUM(served) AS served, SUM(duplicates) AS duplicates, COUNT(DISTINCT fed) AS fed \
         FROM (SELECT ";
    const SCHOOL_DAYS_REST: &str = " AS day, formed, activated, revoked, 0 AS served, \
           0 AS duplicates, NULL AS fed FROM ( \
             SELECT formed_at AS t, 1 AS formed, 0 AS activated, 0 AS revoked FROM vouchers \
             WHERE school_bin = $1 AND formed_at >= $2 AND formed_at < $3 \
             UNION ALL SELECT activated_at, 0, 1, 0 FROM vouchers \
             WHERE school_bin = $1 AND activated_at >= $2 AND activated_at < $3 \
             UNION ALL SELECT updated_at, 0, 0, 1 FROM vouchers \
             WHERE school_bin = $1 AND state = 'revoked' AND updated_at >= $2 AND updated_at < $3 \
           ) changes \
           UNION ALL SELECT service_day, 0, 0, 0, \
           CASE WHEN status = 'accepted' THEN 1 ELSE 0 END, \
           CASE WHEN status = 'duplicate' THEN 1 ELSE 0 END, \
           CASE WHEN status = 'accepted' THEN student_iin END \
           FROM meals WHERE school_bin = $1 AND service_day >= $4 AND service_day <= $5 \
         ) facts GROUP BY day \
         UNION ALL SELECT 'stored', report_date, version, vouchers_formed, vouchers_activated, \
         vouchers_revoked, meals_served, duplicates, students_fed FROM daily_report_figures \
         WHERE school_bin = $1 AND report_date >= $4 AND report_date <= $5 \
         UNION ALL SELECT 'built', report_date, 1, 0, 0, 0, 0, 0, 0 FROM daily_reports \
         WHERE report_date >= $4 AND report_date <= $5";

    /// Stores the per-school figures of a stored body (`$1` day, `$2` version, `$3` body).
    const SAVE_FIGURES: &str = "INSERT INTO daily_report_figures (school_bin, report_date, \
         version, vouchers_formed, vouchers_activated, vouchers_revoked, meals_served, \
         duplicates, students_fed) ";

    /// A row's figures (columns `formed` … `fed`) as school `bin`'s.
    fn figures(r: &DbRow, bin: String) -> Result<SchoolDay, StoreError> {
        Ok(SchoolDay {
            bin,
            vouchers_formed: r.try_get("formed")?,
            vouchers_activated: r.try_get("activated")?,
            vouchers_revoked: r.try_get("revoked")?,
            meals_served: r.try_get("served")?,
            duplicates: r.try_get("duplicates")?,
            students_fed: r.try_get("fed")?,
        })
    }

    async fn save_figures(
        tx: &mut Conn,
        day: Date,
        version: u32,
        body: &str,
    ) -> Result<(), StoreError> {
        // `WHERE true`: SQLite reads `ON` after a bare `FROM` as a join's.
        let sql = format!("{SAVE_FIGURES}SELECT {REPORT_FIGURES_OF_BODY} WHERE true ON CONFLICT DO NOTHING");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(date(day))
            .bind(i64::from(version))
            .bind(body)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    #[async_trait]
    impl ReportStore for Store {
        async fn daily_facts(&self, day: Date) -> Result<Vec<SchoolDay>, StoreError> {
            let sql = format!("{DAY_FACTS}{MEAL_COUNTS} FROM schools sc ORDER BY sc.bin");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(date(day))
                .bind(ts(start_of_service_day(day)))
                .bind(ts(end_of_service_day(day)))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(school_day).collect()
        }

        async fn day_meals(
            &self,
            day: Date,
            schools: Option<&[Bin]>,
        ) -> Result<Vec<SchoolMeals>, StoreError> {
            let rows = match schools {
                None => {
                    let sql = format!("SELECT sc.bin, {MEAL_COUNTS} FROM schools sc ORDER BY sc.bin");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(date(day))
                        .fetch_all(&self.pool)
                        .await?
                }
                Some([]) => return Ok(Vec::new()),
                Some(schools) => {
                    // One bound list, planned for each call (`in_list` says why).
                    let sql = format!(
                        "SELECT sc.bin, {MEAL_COUNTS} FROM schools sc WHERE sc.bin {} ORDER BY sc.bin",
                        in_list("$2")
                    );
                    let bins: Vec<String> = schools.iter().map(Bin::to_string).collect();
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(date(day))
                        .bind(text_list(&bins))
                        .persistent(false)
                        .fetch_all(&self.pool)
                        .await?
                }
            };
            rows.iter().map(school_meals).collect()
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
            Ok(sqlx::query_scalar(STORED_LATEST)
                .bind(date(day))
                .fetch_optional(&self.pool)
                .await?)
        }

        async fn report_of_day(&self, day: Date) -> Result<DayReport, StoreError> {
            let sql = format!(
                "{REPORT_OF_DAY_HEAD}{DAY_FACTS}{MEAL_COUNTS} FROM schools sc \
                 WHERE NOT EXISTS (SELECT 1 FROM stored)) facts"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(date(day))
                .bind(ts(start_of_service_day(day)))
                .bind(ts(end_of_service_day(day)))
                .fetch_all(&self.pool)
                .await?;
            if let Some(body) = rows.first().map(|r| r.try_get::<Option<String>, _>("stored")).transpose()?.flatten() {
                return Ok(DayReport::Stored(body));
            }
            let mut schools = rows.iter().map(school_day).collect::<Result<Vec<_>, _>>()?;
            schools.sort_by(|a, b| a.bin.cmp(&b.bin));
            Ok(DayReport::Live(schools))
        }

        async fn school_days(
            &self,
            school: Bin,
            first: Date,
            last: Date,
        ) -> Result<Vec<DayFigures>, StoreError> {
            let sql = format!("{SCHOOL_DAYS_LIVE}{ASTANA_DAY_OF_T}{SCHOOL_DAYS_REST}");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(school.to_string())
                .bind(ts(start_of_service_day(first)))
                .bind(ts(end_of_service_day(last)))
                .bind(date(first))
                .bind(date(last))
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let src: String = r.try_get("src")?;
                    let version: i64 = r.try_get("version")?;
                    let figures = figures(r, school.to_string())?;
                    Ok(DayFigures {
                        day: get_date(r, "day")?,
                        source: crate::store::FiguresSource::parse(&src, version)?,
                        figures,
                    })
                })
                .collect()
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
            save_figures(&mut tx, day, version, body).await?;
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
            save_figures(&mut tx, day, 1, body).await?;
            jobs::insert_message(&mut tx, m).await?;
            tx.commit().await?;
            Ok(true)
        }
    }
}
