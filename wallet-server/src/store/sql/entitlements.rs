//! The day ranges of month-scoped entitlement: written when a list arrives (inside the list's
//! transaction, set-based: one statement per rule, whatever the list's size) and read by the
//! roster, the push judge and the табель. What the rules are is `domain::entitlement`'s.

use std::collections::{HashMap, HashSet};

use shared::sync::DayRange;
use shared::Iin;
use sqlx::Row as _;

use crate::domain::entitlement::{self, EntitlementRule};
use crate::domain::list::ValidList;
use crate::domain::Programme;
use crate::store::{parse_stored, StoreError};

/// The ranges a list for month `$3` (school `$1`, programme `$2`) ends: this school's
/// ranges of the month whose student the list no longer names; its carry-over into the
/// next month (`$4`) for those students; and another school's ranges of the month for the
/// students the list names (they moved here).
const CUT_SCOPE: &str = "programme = $2 AND ( \
     (school_bin = $1 AND (month = $3 OR (month = $4 AND source = 'carry_over')) \
      AND NOT EXISTS (SELECT 1 FROM eligibility_entries e WHERE e.programme = $2 AND e.period = $3 \
      AND e.student_iin = entitlements.student_iin AND e.school_bin = $1)) \
     OR (school_bin <> $1 AND month = $3 AND student_iin IN (SELECT e.student_iin \
      FROM eligibility_entries e WHERE e.programme = $2 AND e.period = $3 AND e.school_bin = $1)))";

super::per_backend! {
    /// Applies the entitlement rules for `list`, whose rows are already in
    /// `eligibility_entries` (and the dropped ones gone). Returns the students whose ranges
    /// changed, so their vouchers go out with the next roster pull.
    pub(in crate::store) async fn apply_list(
        conn: &mut Conn,
        list: &ValidList,
    ) -> Result<HashSet<Iin>, StoreError> {
        let cut = entitlement::last_day_before(list.received_at);
        let school = list.school.bin.to_string();
        let programme = list.programme.as_str();
        let (month, next) = (list.period.to_string(), list.period.next().to_string());
        // Cut ranges that would end before they start go; the others end on `cut` ($5).
        let cut_away =
            format!("DELETE FROM entitlements WHERE {CUT_SCOPE} AND first_day > $5 RETURNING student_iin");
        let mut touched: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(cut_away))
            .bind(&school)
            .bind(programme)
            .bind(&month)
            .bind(&next)
            .bind(date(cut))
            .fetch_all(&mut *conn)
            .await?;
        let shorten = format!(
            "UPDATE entitlements SET last_day = $5, updated_at = $6 WHERE {CUT_SCOPE} \
             AND last_day > $5 RETURNING student_iin"
        );
        touched.extend(
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(shorten))
                .bind(&school)
                .bind(programme)
                .bind(&month)
                .bind(&next)
                .bind(date(cut))
                .bind(ts(list.received_at))
                .fetch_all(&mut *conn)
                .await?,
        );
        // On this list: the whole month.
        let whole = entitlement::listed(list.period);
        let listed = sqlx::query_scalar::<_, String>(
            "INSERT INTO entitlements (programme, student_iin, school_bin, month, source, first_day, \
             last_day, updated_at) SELECT e.programme, e.student_iin, e.school_bin, e.period, 'list', \
             $4, $5, $6 FROM eligibility_entries e \
             WHERE e.school_bin = $1 AND e.programme = $2 AND e.period = $3 \
             ON CONFLICT (programme, student_iin, school_bin, month) DO UPDATE SET \
             source = excluded.source, first_day = excluded.first_day, last_day = excluded.last_day, \
             updated_at = excluded.updated_at RETURNING student_iin",
        );
        touched.extend(
            listed
                .bind(&school)
                .bind(programme)
                .bind(&month)
                .bind(date(whole.first))
                .bind(date(whole.last))
                .bind(ts(list.received_at))
                .fetch_all(&mut *conn)
                .await?,
        );
        // Carried into the next month while this school has no list for it and no other
        // school claims the student for it; a carry-over never overwrites a listed month.
        let carry = EntitlementRule::of(list.programme).carry_over(list.period);
        let carried = sqlx::query_scalar::<_, String>(
            "INSERT INTO entitlements (programme, student_iin, school_bin, month, source, first_day, \
             last_day, updated_at) SELECT e.programme, e.student_iin, e.school_bin, $4, 'carry_over', \
             $5, $6, $7 FROM eligibility_entries e \
             WHERE e.school_bin = $1 AND e.programme = $2 AND e.period = $3 \
             AND NOT EXISTS (SELECT 1 FROM eligibility_lists l WHERE l.school_bin = $1 \
             AND l.programme = $2 AND l.period = $4) \
             AND NOT EXISTS (SELECT 1 FROM eligibility_entries o WHERE o.programme = $2 \
             AND o.period = $4 AND o.student_iin = e.student_iin) \
             ON CONFLICT (programme, student_iin, school_bin, month) DO UPDATE SET \
             first_day = excluded.first_day, last_day = excluded.last_day, \
             updated_at = excluded.updated_at WHERE entitlements.source = 'carry_over' \
             RETURNING student_iin",
        );
        touched.extend(
            carried
                .bind(&school)
                .bind(programme)
                .bind(&month)
                .bind(carry.month.to_string())
                .bind(date(carry.range.first))
                .bind(date(carry.range.last))
                .bind(ts(list.received_at))
                .fetch_all(&mut *conn)
                .await?,
        );
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
        if students.is_empty() {
            return Ok(HashMap::new());
        }
        // One bound list, planned for each call (`in_list` says why).
        let iins: Vec<String> = students.iter().map(Iin::expose).collect();
        let sql = format!(
            "SELECT student_iin, first_day, last_day FROM entitlements WHERE programme = $1 \
             AND school_bin = $2 AND student_iin {}",
            in_list("$3")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(programme.as_str())
            .bind(school.to_string())
            .bind(text_list(&iins))
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
        for r in rows {
            let student: Iin = parse_stored("student IIN", r.try_get("student_iin")?)?;
            raw.entry(student).or_default().push(DayRange {
                first: get_date(&r, "first_day")?,
                last: get_date(&r, "last_day")?,
            });
        }
        Ok(raw
            .into_iter()
            .map(|(s, ranges)| (s, DayRange::merged(ranges)))
            .collect())
    }
}
