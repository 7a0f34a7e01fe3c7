//! The approval guard of calendar changes: a change is refused when a month it touches is
//! approved for a school it reaches, checked inside the transaction that would write it.

use shared::time::YearMonth;
use shared::Bin;

use crate::domain::calendar::{BreakKey, BreakScope, SchoolYear};

/// Which schools a scope reaches, as the approval check filters them.
pub(in crate::store) enum Reach<'a> {
    All,
    Region(&'a str),
    School(Bin),
}

pub(in crate::store) fn year_months(year: SchoolYear) -> (YearMonth, YearMonth) {
    (
        YearMonth::of(year.first_day()),
        YearMonth::of(year.last_day()),
    )
}

super::per_backend! {
    use sqlx::Row;

    use crate::store::StoreError;

    /// The first approved (school, month) between two months among the schools reached.
    async fn approved_between(
        conn: &mut Conn,
        reach: &Reach<'_>,
        from: YearMonth,
        to: YearMonth,
    ) -> Result<Option<String>, StoreError> {
        let (from, to) = (from.to_string(), to.to_string());
        let row = match reach {
            Reach::All => sqlx::query(
                "SELECT school_bin, month FROM tabel_approvals \
                 WHERE month >= $1 AND month <= $2 ORDER BY month LIMIT 1",
            )
            .bind(from)
            .bind(to)
            .fetch_optional(&mut *conn)
            .await?,
            Reach::Region(region) => sqlx::query(
                "SELECT a.school_bin, a.month FROM tabel_approvals a \
                 JOIN schools s ON s.bin = a.school_bin \
                 WHERE a.month >= $1 AND a.month <= $2 AND s.region = $3 \
                 ORDER BY a.month LIMIT 1",
            )
            .bind(from)
            .bind(to)
            .bind(region.to_string())
            .fetch_optional(&mut *conn)
            .await?,
            Reach::School(bin) => sqlx::query(
                "SELECT school_bin, month FROM tabel_approvals \
                 WHERE month >= $1 AND month <= $2 AND school_bin = $3 ORDER BY month LIMIT 1",
            )
            .bind(from)
            .bind(to)
            .bind(bin.to_string())
            .fetch_optional(&mut *conn)
            .await?,
        };
        row.map(|r| -> Result<String, StoreError> {
            let school: String = r.try_get("school_bin")?;
            let month: String = r.try_get("month")?;
            Ok(format!("{school}/{month}"))
        })
        .transpose()
    }

    /// Refuses (with `Conflict`) when any of the month ranges is approved for a reached school.
    pub(in crate::store) async fn refuse_if_approved(
        conn: &mut Conn,
        reach: &Reach<'_>,
        ranges: &[(YearMonth, YearMonth)],
    ) -> Result<(), StoreError> {
        for &(from, to) in ranges {
            if let Some(hit) = approved_between(conn, reach, from, to).await? {
                return Err(StoreError::Conflict {
                    current: format!("approved {hit}"),
                });
            }
        }
        Ok(())
    }

    /// The months of every break of a year and key, whatever its scope: setting or removing
    /// one scope's break can bring another scope's back into force (or out of it), so all of
    /// them are touched. Conservative on purpose: money depends on it.
    pub(in crate::store) async fn key_ranges(
        conn: &mut Conn,
        year: SchoolYear,
        key: &BreakKey,
    ) -> Result<Vec<(YearMonth, YearMonth)>, StoreError> {
        let rows = sqlx::query(
            "SELECT first_day, last_day FROM school_breaks WHERE school_year = $1 AND break_key = $2",
        )
        .bind(year.to_string())
        .bind(key.as_str())
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    YearMonth::of(get_date(r, "first_day")?),
                    YearMonth::of(get_date(r, "last_day")?),
                ))
            })
            .collect()
    }

    pub(in crate::store) fn reach_of(scope: &BreakScope) -> Reach<'_> {
        match scope {
            BreakScope::National => Reach::All,
            BreakScope::Region(r) => Reach::Region(r.as_str()),
            BreakScope::School(b) => Reach::School(*b),
        }
    }

}
