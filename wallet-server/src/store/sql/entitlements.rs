//! The day ranges of month-scoped entitlement: written when a list arrives (inside the list's
//! transaction, set-based: one statement per rule, whatever the list's size) and read by the
//! roster, the push judge and the табель. What the rules are is `domain::entitlement`'s.

use std::collections::{HashMap, HashSet};

use shared::sync::DayRange;
use shared::Iin;
use sqlx::{QueryBuilder, Row as _};

use crate::domain::entitlement::{self, EntitlementRule, Source};
use crate::domain::list::ValidList;
use crate::domain::Programme;
use crate::store::{parse_stored, StoreError};

super::per_backend! {
    use crate::domain::meal::batch::ROWS_PER_STATEMENT;

    /// Applies the entitlement rules for `list`, whose rows are already in
    /// `eligibility_entries` (and the dropped ones gone). Returns the students whose ranges
    /// changed, so their vouchers go out with the next roster pull.
    pub(in crate::store) async fn apply_list(
        conn: &mut Conn,
        list: &ValidList,
    ) -> Result<HashSet<Iin>, StoreError> {
        let mut changed = HashSet::new();
        let cut = entitlement::last_day_before(list.received_at);
        let month = list.period.to_string();
        let next = list.period.next().to_string();
        let school = list.school.bin.to_string();
        let programme = list.programme.as_str();
        // Not on this list: this school's ranges of the month, and its carry-over into the
        // next, end the day before the list arrived.
        let not_listed = "NOT EXISTS (SELECT 1 FROM eligibility_entries e \
             WHERE e.programme = entitlements.programme AND e.period = $4 \
             AND e.student_iin = entitlements.student_iin AND e.school_bin = entitlements.school_bin)";
        for (target_month, extra) in [(&month, ""), (&next, " AND source = 'carry_over'")] {
            let scope = format!(
                "school_bin = $1 AND programme = $2 AND month = $3 AND {not_listed}{extra}"
            );
            changed.extend(cut_ranges(conn, &scope, (&school, programme, target_month, &month), cut, list).await?);
        }
        // On this list at another school's expense: the student moved here for this month.
        let moved = "school_bin <> $1 AND programme = $2 AND month = $3 AND student_iin IN \
             (SELECT e.student_iin FROM eligibility_entries e WHERE e.programme = $2 \
             AND e.period = $4 AND e.school_bin = $1)";
        changed.extend(cut_ranges(conn, moved, (&school, programme, &month, &month), cut, list).await?);
        // On this list: the whole month.
        let whole = entitlement::listed(list.period);
        changed.extend(entitle(conn, list, &month, Source::List, whole, "").await?);
        // Carried into the next month while this school has no list for it and no other
        // school claims the student for it.
        let carry = EntitlementRule::of(list.programme).carry_over(list.period);
        let free = "AND NOT EXISTS (SELECT 1 FROM eligibility_lists l WHERE l.school_bin = e.school_bin \
             AND l.programme = e.programme AND l.period = $7) \
             AND NOT EXISTS (SELECT 1 FROM eligibility_entries o WHERE o.programme = e.programme \
             AND o.period = $7 AND o.student_iin = e.student_iin)";
        changed.extend(entitle(conn, list, &next, Source::CarryOver, carry.range, free).await?);
        Ok(changed)
    }

    /// Ends the ranges `scope` selects on day `cut` (removing those that would end before
    /// they start). `scope` binds `$1`–`$4` to `params`; returns the students touched.
    async fn cut_ranges(
        conn: &mut Conn,
        scope: &str,
        params: (&str, &str, &str, &str),
        cut: time::Date,
        list: &ValidList,
    ) -> Result<Vec<Iin>, StoreError> {
        let (a, b, c, d) = params;
        let gone = format!("DELETE FROM entitlements WHERE {scope} AND first_day > $5 RETURNING student_iin");
        let mut touched: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(gone))
            .bind(a).bind(b).bind(c).bind(d).bind(date(cut))
            .fetch_all(&mut *conn)
            .await?;
        let shortened = format!(
            "UPDATE entitlements SET last_day = $5, updated_at = $6 WHERE {scope} AND last_day > $5 \
             RETURNING student_iin"
        );
        touched.extend(
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(shortened))
                .bind(a).bind(b).bind(c).bind(d).bind(date(cut)).bind(ts(list.received_at))
                .fetch_all(&mut *conn)
                .await?,
        );
        touched.iter().map(|s| parse_stored("student IIN", s)).collect()
    }

    /// Writes `range` in `month` for every student on `list` (filtered by `extra`, which
    /// may use `$7`, the month written); a carry-over never overwrites a listed month.
    async fn entitle(
        conn: &mut Conn,
        list: &ValidList,
        month: &str,
        source: Source,
        range: DayRange,
        extra: &str,
    ) -> Result<Vec<Iin>, StoreError> {
        let guard = match source {
            Source::List => "",
            Source::CarryOver => "WHERE entitlements.source = 'carry_over'",
        };
        let sql = format!(
            "INSERT INTO entitlements (programme, student_iin, school_bin, month, source, first_day, \
             last_day, updated_at) SELECT e.programme, e.student_iin, e.school_bin, $7, $4, $5, $6, $8 \
             FROM eligibility_entries e WHERE e.school_bin = $1 AND e.programme = $2 AND e.period = $3 \
             {extra} \
             ON CONFLICT (programme, student_iin, school_bin, month) DO UPDATE SET \
             source = excluded.source, first_day = excluded.first_day, last_day = excluded.last_day, \
             updated_at = excluded.updated_at {guard} RETURNING student_iin"
        );
        let touched: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(list.school.bin.to_string())
            .bind(list.programme.as_str())
            .bind(list.period.to_string())
            .bind(source.as_str())
            .bind(date(range.first))
            .bind(date(range.last))
            .bind(month)
            .bind(ts(list.received_at))
            .fetch_all(&mut *conn)
            .await?;
        touched.iter().map(|s| parse_stored("student IIN", s)).collect()
    }

    /// The entitled day ranges of `students` at `school`, merged.
    pub(in crate::store) async fn ranges_at(
        conn: &mut Conn,
        programme: Programme,
        school: shared::Bin,
        students: &[Iin],
    ) -> Result<HashMap<Iin, Vec<DayRange>>, StoreError> {
        let mut raw: HashMap<Iin, Vec<DayRange>> = HashMap::new();
        for chunk in students.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT student_iin, first_day, last_day FROM entitlements WHERE programme = ",
            );
            q.push_bind(programme.as_str())
                .push(" AND school_bin = ")
                .push_bind(school.to_string())
                .push(" AND student_iin IN (");
            let mut list = q.separated(", ");
            for s in chunk {
                list.push_bind(s.expose().to_string());
            }
            q.push(")");
            for r in q.build().fetch_all(&mut *conn).await? {
                let student: Iin = parse_stored("student IIN", r.try_get("student_iin")?)?;
                raw.entry(student).or_default().push(DayRange {
                    first: get_date(&r, "first_day")?,
                    last: get_date(&r, "last_day")?,
                });
            }
        }
        Ok(raw
            .into_iter()
            .map(|(s, ranges)| (s, DayRange::merged(ranges)))
            .collect())
    }
}
