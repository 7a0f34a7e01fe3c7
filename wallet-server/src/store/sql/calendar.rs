//! The school calendar's storage: declared national dates, school breaks by scope, each
//! school's week and region, and the director's confirmations of meals on non-school days.
//!
//! A change is refused, in the same transaction that would write it, when a month it
//! touches is already approved for a school it applies to: a frozen табель must stay true to
//! the calendar it was built on. A break's change touches the months of every break of the
//! same year and key (any scope), since it can bring another scope's break in or out of force.

use async_trait::async_trait;
use shared::time::YearMonth;
use shared::Bin;
use time::Date;
use uuid::Uuid;

use super::calendar_guard::{year_months, Reach};
use super::tabel::{MEAL_FACT_COLUMNS, MEAL_FACT_FROM};
use crate::domain::calendar::{
    months_between, BreakKey, BreakScope, CalendarChange, DeclaredDay, Region, SchoolBreak,
    SchoolCalendar, SchoolYear,
};

fn scope_words(scope: &BreakScope) -> (&'static str, String) {
    match scope {
        BreakScope::National => ("national", String::new()),
        BreakScope::Region(r) => ("region", r.to_string()),
        BreakScope::School(b) => ("school", b.to_string()),
    }
}

super::per_backend! {
    use sqlx::Row;

    use crate::domain::audit::AuditEntry;
    use crate::store::{parse_stored, CalendarStore, StoreError};

    fn break_from_row(r: &DbRow) -> Result<SchoolBreak, StoreError> {
        let level: String = r.try_get("scope_level")?;
        let id: String = r.try_get("scope_id")?;
        let scope = match level.as_str() {
            "national" => BreakScope::National,
            "region" => BreakScope::Region(parse_stored("region", &id)?),
            "school" => BreakScope::School(parse_stored("school BIN", &id)?),
            _ => return Err(StoreError::Corrupt("stored break scope".into())),
        };
        Ok(SchoolBreak {
            school_year: parse_stored("school year", r.try_get("school_year")?)?,
            key: parse_stored("break key", r.try_get("break_key")?)?,
            scope,
            from: get_date(r, "first_day")?,
            to: get_date(r, "last_day")?,
        })
    }

    async fn stored_break(
        conn: &mut Conn,
        year: SchoolYear,
        key: &BreakKey,
        scope: &BreakScope,
    ) -> Result<Option<SchoolBreak>, StoreError> {
        let (level, id) = scope_words(scope);
        let row = sqlx::query(
            "SELECT school_year, break_key, scope_level, scope_id, first_day, last_day \
             FROM school_breaks WHERE school_year = $1 AND break_key = $2 \
             AND scope_level = $3 AND scope_id = $4",
        )
        .bind(year.to_string())
        .bind(key.as_str())
        .bind(level)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(break_from_row).transpose()
    }

    async fn region_of(conn: &mut Conn, school: Bin) -> Result<Option<String>, StoreError> {
        let region: Option<Option<String>> =
            sqlx::query_scalar("SELECT region FROM schools WHERE bin = $1")
                .bind(school.to_string())
                .fetch_optional(&mut *conn)
                .await?;
        region.ok_or(StoreError::NotFound)
    }

    /// The calendar of a school over whole school years (breaks are per year and key, so a
    /// narrower read could miss the break that replaces another).
    pub(in crate::store) async fn load_calendar(
        conn: &mut Conn,
        school: Bin,
        first: SchoolYear,
        last: SchoolYear,
    ) -> Result<SchoolCalendar, StoreError> {
        let region = region_of(conn, school).await?.unwrap_or_default();
        let mut calendar = SchoolCalendar::default();
        let weeks = sqlx::query("SELECT school_year, week FROM school_weeks WHERE school_bin = $1")
            .bind(school.to_string())
            .fetch_all(&mut *conn)
            .await?;
        for r in &weeks {
            calendar.weeks.insert(
                parse_stored("school year", r.try_get("school_year")?)?,
                parse_stored("school week", r.try_get("week")?)?,
            );
        }
        calendar.declared = declared_between(conn, first.first_day(), last.last_day()).await?;
        let breaks = sqlx::query(
            "SELECT school_year, break_key, scope_level, scope_id, first_day, last_day \
             FROM school_breaks WHERE school_year >= $1 AND school_year <= $2 \
             AND (scope_level = 'national' OR (scope_level = 'region' AND scope_id = $3) \
             OR (scope_level = 'school' AND scope_id = $4)) ORDER BY first_day",
        )
        .bind(first.to_string())
        .bind(last.to_string())
        .bind(region)
        .bind(school.to_string())
        .fetch_all(&mut *conn)
        .await?;
        calendar.breaks = breaks.iter().map(break_from_row).collect::<Result<_, _>>()?;
        Ok(calendar)
    }

    async fn declared_between(
        conn: &mut Conn,
        from: Date,
        to: Date,
    ) -> Result<Vec<DeclaredDay>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, kind, name FROM calendar_days WHERE day BETWEEN $1 AND $2 ORDER BY day",
        )
        .bind(date(from))
        .bind(date(to))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeclaredDay {
                    date: get_date(r, "day")?,
                    kind: parse_stored("declared day kind", r.try_get("kind")?)?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }

    /// Checks a change against approvals and writes it; the caller commits.
    async fn apply_change(conn: &mut Conn, change: &CalendarChange, now: time::OffsetDateTime) -> Result<(), StoreError> {
        match change {
            CalendarChange::DeclareDay(d) => {
                let m = YearMonth::of(d.date);
                calendar_guard::refuse_if_approved(conn, &Reach::All, &[(m, m)]).await?;
                sqlx::query(
                    "INSERT INTO calendar_days (day, kind, name, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
                     updated_at = excluded.updated_at",
                )
                .bind(date(d.date))
                .bind(d.kind.as_str())
                .bind(&d.name)
                .bind(ts(now))
                .execute(&mut *conn)
                .await?;
            }
            CalendarChange::RemoveDay(day) => {
                let m = YearMonth::of(*day);
                calendar_guard::refuse_if_approved(conn, &Reach::All, &[(m, m)]).await?;
                let gone = sqlx::query("DELETE FROM calendar_days WHERE day = $1")
                    .bind(date(*day))
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                if gone == 0 {
                    return Err(StoreError::NotFound);
                }
            }
            CalendarChange::SetBreak(b) => {
                let mut ranges = calendar_guard::key_ranges(conn, b.school_year, &b.key).await?;
                ranges.push((YearMonth::of(b.from), YearMonth::of(b.to)));
                calendar_guard::refuse_if_approved(conn, &calendar_guard::reach_of(&b.scope), &ranges).await?;
                let (level, id) = scope_words(&b.scope);
                sqlx::query(
                    "INSERT INTO school_breaks (school_year, break_key, scope_level, scope_id, \
                     first_day, last_day, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (school_year, break_key, scope_level, scope_id) DO UPDATE SET \
                     first_day = excluded.first_day, last_day = excluded.last_day, \
                     updated_at = excluded.updated_at",
                )
                .bind(b.school_year.to_string())
                .bind(b.key.as_str())
                .bind(level)
                .bind(id)
                .bind(date(b.from))
                .bind(date(b.to))
                .bind(ts(now))
                .execute(&mut *conn)
                .await?;
            }
            CalendarChange::RemoveBreak { school_year, key, scope } => {
                stored_break(conn, *school_year, key, scope)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let ranges = calendar_guard::key_ranges(conn, *school_year, key).await?;
                calendar_guard::refuse_if_approved(conn, &calendar_guard::reach_of(scope), &ranges).await?;
                let (level, id) = scope_words(scope);
                sqlx::query(
                    "DELETE FROM school_breaks WHERE school_year = $1 AND break_key = $2 \
                     AND scope_level = $3 AND scope_id = $4",
                )
                .bind(school_year.to_string())
                .bind(key.as_str())
                .bind(level)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            CalendarChange::SetWeek { school, school_year, week } => {
                region_of(conn, *school).await?;
                calendar_guard::refuse_if_approved(conn, &Reach::School(*school), &[year_months(*school_year)]).await?;
                sqlx::query(
                    "INSERT INTO school_weeks (school_bin, school_year, week, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (school_bin, school_year) DO UPDATE SET \
                     week = excluded.week, updated_at = excluded.updated_at",
                )
                .bind(school.to_string())
                .bind(school_year.to_string())
                .bind(week.as_str())
                .bind(ts(now))
                .execute(&mut *conn)
                .await?;
            }
            CalendarChange::SetRegion { school, region } => {
                set_region(conn, *school, region.as_ref()).await?;
            }
        }
        Ok(())
    }

    /// Moving a school between regions changes which regional breaks apply: refused when a
    /// month of either region's breaks is approved for the school.
    async fn set_region(conn: &mut Conn, school: Bin, region: Option<&Region>) -> Result<(), StoreError> {
        let old = region_of(conn, school).await?.unwrap_or_default();
        let new = region.map(|r| r.to_string()).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT first_day, last_day FROM school_breaks WHERE scope_level = 'region' \
             AND (scope_id = $1 OR scope_id = $2)",
        )
        .bind(&old)
        .bind(&new)
        .fetch_all(&mut *conn)
        .await?;
        let mut ranges = Vec::new();
        for r in &rows {
            let (from, to) = (get_date(r, "first_day")?, get_date(r, "last_day")?);
            let months = months_between(from, to);
            if let (Some(a), Some(b)) = (months.first(), months.last()) {
                ranges.push((*a, *b));
            }
        }
        if old != new {
            calendar_guard::refuse_if_approved(conn, &Reach::School(school), &ranges).await?;
        }
        sqlx::query("UPDATE schools SET region = $1 WHERE bin = $2")
            .bind(region.map(|r| r.to_string()))
            .bind(school.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    #[async_trait]
    impl CalendarStore for Store {
        async fn school_calendar(
            &self,
            school: Bin,
            first: SchoolYear,
            last: SchoolYear,
        ) -> Result<SchoolCalendar, StoreError> {
            let mut conn = self.pool.acquire().await?;
            load_calendar(&mut conn, school, first, last).await
        }

        async fn school_region(&self, school: Bin) -> Result<Option<Region>, StoreError> {
            let mut conn = self.pool.acquire().await?;
            region_of(&mut conn, school)
                .await?
                .map(|r| parse_stored("region", &r))
                .transpose()
        }

        async fn national_calendar(
            &self,
            year: SchoolYear,
        ) -> Result<(Vec<DeclaredDay>, Vec<SchoolBreak>), StoreError> {
            let mut conn = self.pool.acquire().await?;
            let days = declared_between(&mut conn, year.first_day(), year.last_day()).await?;
            let rows = sqlx::query(
                "SELECT school_year, break_key, scope_level, scope_id, first_day, last_day \
                 FROM school_breaks WHERE school_year = $1 \
                 ORDER BY first_day, scope_level, scope_id",
            )
            .bind(year.to_string())
            .fetch_all(&mut *conn)
            .await?;
            let breaks = rows.iter().map(break_from_row).collect::<Result<_, _>>()?;
            Ok((days, breaks))
        }

        async fn change_calendar(
            &self,
            change: &CalendarChange,
            audit: &AuditEntry,
        ) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            apply_change(&mut tx, change, audit.at).await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn confirm_off_day_meal(
            &self,
            school: Bin,
            event_id: Uuid,
            month: YearMonth,
            audit: &AuditEntry,
        ) -> Result<bool, StoreError> {
            let mut tx = write(self).await?;
            calendar_guard::refuse_if_approved(&mut tx, &Reach::School(school), &[(month, month)]).await?;
            let inserted = sqlx::query(
                "INSERT INTO off_day_confirmations (event_id, school_bin, confirmed_at, confirmed_by) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (school_bin, event_id) DO NOTHING",
            )
            .bind(uuid(event_id))
            .bind(school.to_string())
            .bind(ts(audit.at))
            .bind(audit.actor.to_record())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted > 0 {
                insert_audit(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(inserted > 0)
        }

        async fn school_meal(
            &self,
            school: Bin,
            event_id: Uuid,
        ) -> Result<Option<crate::domain::tabel::MealFact>, StoreError> {
            let mut conn = self.pool.acquire().await?;
            let sql = format!(
                "SELECT {MEAL_FACT_COLUMNS}, m.received_at FROM {MEAL_FACT_FROM} \
                 WHERE m.event_id = $1 AND m.school_bin = $2"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid(event_id))
            .bind(school.to_string())
            .fetch_optional(&mut *conn)
            .await?;
            row.as_ref().map(tabel::meal_from_row).transpose()
        }
    }
}
