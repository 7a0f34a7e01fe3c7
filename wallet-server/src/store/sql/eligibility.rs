//! Applying a monthly eligibility list in one transaction, set-based: what exists for the
//! whole list is read in a few queries (each binds the list's students as one parameter),
//! the domain plans every change at once (`domain::list::plan`), and the writes go out in
//! bulk (`eligibility_write`). A list of 5,000 students costs a few dozen round trips, not
//! several per row.
//!
//! A student already on another school's list for the period is found by the read and its
//! row rejected, writing nothing. The database stays the last line of defence: should a
//! concurrent list (another server, PostgreSQL) claim a student, form its voucher or move
//! it between the read and the write, the bulk write affects fewer rows than planned, the
//! whole transaction rolls back and the list is applied again from a fresh read, where the
//! claim now shows and the row is rejected as usual. Nothing is ever half applied.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use shared::{Iin, VoucherId};
use sqlx::Row as _;

use crate::domain::list::plan::{plan, Existing, LiveVoucher};
use crate::domain::list::{ListOutcome, ValidList};
use crate::store::{parse_stored, EligibilityStore, StoreError};

/// Attempts at a list whose students changed under it (see the module comment); on SQLite
/// the write lock is taken up front, so the first attempt always stands.
const ATTEMPTS: usize = 3;

super::per_backend! {
    #[async_trait]
    impl EligibilityStore for Store {
        async fn apply_eligibility_list(&self, list: &ValidList) -> Result<ListOutcome, StoreError> {
            let mut attempt = 1;
            loop {
                match apply_once(self, list).await {
                    Err(e) if attempt < ATTEMPTS && retryable(&e) => attempt += 1,
                    done => {
                        // Vouchers revoked or moved, representatives dropped: this process'
                        // mints read afresh from now on (other processes hear migration
                        // 0018's NOTIFY).
                        if done.is_ok() {
                            self.facts().forget_all();
                        }
                        return done;
                    }
                }
            }
        }
    }

    /// A list that met a concurrent change (`eligibility_write` reports it as a conflict)
    /// or a deadlock with one is applied again.
    fn retryable(e: &StoreError) -> bool {
        matches!(e, StoreError::Conflict { .. }) || is_deadlock(e)
    }

    async fn apply_once(store: &Store, list: &ValidList) -> Result<ListOutcome, StoreError> {
        let mut tx = write(store).await?;
        sqlx::query(
            "INSERT INTO schools (bin, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (bin) DO UPDATE SET name = excluded.name",
        )
        .bind(list.school.bin.to_string())
        .bind(&list.school.name)
        .bind(ts(list.received_at))
        .execute(&mut *tx)
        .await?;
        let existing = read_existing(&mut tx, list).await?;
        let plan = plan(list, &existing, VoucherId::new);
        sqlx::query(
            "INSERT INTO eligibility_lists (id, school_bin, programme, period, received_at, \
             received_by, content_hash, rows_total, rows_accepted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(uuid(list.id))
        .bind(list.school.bin.to_string())
        .bind(list.programme.as_str())
        .bind(list.period.to_string())
        .bind(ts(list.received_at))
        .bind(list.received_by.to_record())
        .bind(&list.content_hash)
        .bind(i64::try_from(list.rows.len() + list.rejected.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(plan.accepted.len()).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        eligibility_write::write_plan(&mut tx, list, &plan).await?;
        // Entitlements read the entries just written; the students whose ranges changed go
        // out with the next roster pull, as do the listed ones (name, class) and revocations.
        let mut changed: HashSet<Iin> = entitlements::apply_list(&mut tx, list).await?;
        changed.extend(plan.accepted.iter().map(|r| r.student.iin));
        eligibility_write::roster_changed_all(&mut tx, &changed).await?;
        tx.commit().await?;
        Ok(plan.outcome)
    }

    /// The listed students as one bound parameter (see the dialect's `text_list`); a statement
    /// binding it runs unprepared (`in_list` says why).
    fn students_param(list: &ValidList) -> TextList {
        let iins: Vec<String> = list.rows.iter().map(|r| r.student.iin.expose()).collect();
        text_list(&iins)
    }

    /// Everything the plan needs, for the whole list, in five queries.
    async fn read_existing(conn: &mut Conn, list: &ValidList) -> Result<Existing, StoreError> {
        let students = students_param(list);
        let programme = list.programme.as_str();
        let claims = format!(
            "SELECT student_iin FROM eligibility_entries WHERE programme = $1 AND period = $2 \
             AND school_bin <> $3 AND student_iin {}",
            in_list("$4")
        );
        let claimed: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(claims))
            .bind(programme)
            .bind(list.period.to_string())
            .bind(list.school.bin.to_string())
            .bind(&students)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
        // Consent given stands for the school year, also at a school the student moves to.
        let agreed_sql = format!(
            "SELECT DISTINCT student_iin FROM consent_requests WHERE programme = $1 \
             AND period_from = $2 AND state = 'agreed' AND student_iin {}",
            in_list("$3")
        );
        let agreed: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(agreed_sql))
            .bind(programme)
            .bind(date(list.voucher_period.first_day))
            .bind(&students)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
        let live_sql = format!(
            "SELECT id, student_iin, school_bin, state FROM vouchers WHERE programme = $1 \
             AND valid_from = $2 AND state IN ('formed', 'activated') AND student_iin {}",
            in_list("$3")
        );
        let live = sqlx::query(sqlx::AssertSqlSafe(live_sql))
            .bind(programme)
            .bind(date(list.voucher_period.first_day))
            .bind(&students)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
        let linked_sql = format!(
            "SELECT student_iin, representative_iin FROM student_representatives WHERE student_iin {}",
            in_list("$1")
        );
        let linked = sqlx::query(sqlx::AssertSqlSafe(linked_sql))
            .bind(&students)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
        let mut existing = Existing {
            claimed: parse_iins(&claimed)?,
            agreed: parse_iins(&agreed)?,
            live: HashMap::with_capacity(live.len()),
            linked: HashMap::new(),
            entries: this_schools_entries(conn, list).await?,
        };
        for row in &live {
            let student: Iin = parse_stored("student IIN", row.try_get("student_iin")?)?;
            existing.live.insert(student, live_from_row(row)?);
        }
        for row in &linked {
            let student: Iin = parse_stored("student IIN", row.try_get("student_iin")?)?;
            let rep: Iin = parse_stored("representative IIN", row.try_get("representative_iin")?)?;
            existing.linked.entry(student).or_default().push(rep);
        }
        Ok(existing)
    }

    /// This school's entries for the list's period, each with its live voucher at the school.
    /// Two plain reads joined here: a join in SQL is planned badly on tables that just grew
    /// (a fresh database's first lists), a hash lookup is not.
    async fn this_schools_entries(
        conn: &mut Conn,
        list: &ValidList,
    ) -> Result<Vec<(Iin, Option<LiveVoucher>)>, StoreError> {
        let school = list.school.bin.to_string();
        let programme = list.programme.as_str();
        let entries: Vec<String> = sqlx::query_scalar(
            "SELECT student_iin FROM eligibility_entries WHERE school_bin = $1 AND programme = $2 \
             AND period = $3",
        )
        .bind(&school)
        .bind(programme)
        .bind(list.period.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let live = sqlx::query(
            "SELECT id, student_iin, school_bin, state FROM vouchers WHERE school_bin = $1 \
             AND programme = $2 AND valid_from = $3 AND state IN ('formed', 'activated')",
        )
        .bind(&school)
        .bind(programme)
        .bind(date(list.voucher_period.first_day))
        .fetch_all(&mut *conn)
        .await?;
        let mut live_here = HashMap::with_capacity(live.len());
        for row in &live {
            let student: Iin = parse_stored("student IIN", row.try_get("student_iin")?)?;
            live_here.insert(student, live_from_row(row)?);
        }
        entries
            .iter()
            .map(|s| {
                let student: Iin = parse_stored("student IIN", s)?;
                Ok((student, live_here.remove(&student)))
            })
            .collect()
    }

    fn live_from_row(row: &DbRow) -> Result<LiveVoucher, StoreError> {
        Ok(LiveVoucher {
            id: VoucherId::from_uuid(get_uuid(row, "id")?),
            school: parse_stored("school BIN", row.try_get("school_bin")?)?,
            state: parse_stored("voucher state", row.try_get("state")?)?,
        })
    }

    fn parse_iins(stored: &[String]) -> Result<HashSet<Iin>, StoreError> {
        stored.iter().map(|s| parse_stored("student IIN", s)).collect()
    }
}
