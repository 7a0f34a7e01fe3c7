//! The bulk writes of a planned eligibility list (`domain::list::plan`): one statement per
//! table whatever the list's size, its rows bound as columns (the dialect's `Bulk`), inside
//! the list's transaction. A statement that changes fewer rows than planned means a concurrent change
//! got in between the list's read and its write: it answers `Conflict`, the transaction rolls
//! back and `eligibility` applies the list again.

use std::collections::{HashMap, HashSet};

use shared::{Iin, VoucherId};
use sqlx::QueryBuilder;

use crate::domain::list::plan::{LiveVoucher, Plan};
use crate::domain::list::{ValidList, ValidRow};
use crate::domain::voucher::VoucherState;
use crate::domain::Representative;
use crate::store::StoreError;

/// What a write that changed fewer rows than planned answers.
fn raced(what: &str) -> StoreError {
    StoreError::Conflict {
        current: format!("{what} changed while the list was applied"),
    }
}

/// Each representative once, as the list names them last (a phone given anywhere stands
/// over none), so one statement never upserts the same person twice.
fn representatives(rows: &[&ValidRow]) -> Vec<Representative> {
    let mut order: Vec<Iin> = Vec::new();
    let mut by_iin: HashMap<Iin, Representative> = HashMap::new();
    for (rep, _) in rows.iter().flat_map(|r| &r.representatives) {
        match by_iin.get_mut(&rep.iin) {
            Some(seen) => {
                seen.full_name.clone_from(&rep.full_name);
                if rep.phone.is_some() {
                    seen.phone.clone_from(&rep.phone);
                }
            }
            None => {
                order.push(rep.iin);
                by_iin.insert(rep.iin, rep.clone());
            }
        }
    }
    order
        .into_iter()
        .filter_map(|iin| by_iin.remove(&iin))
        .collect()
}

super::per_backend! {
    /// `head` (`INSERT INTO t (a, b) `), `rows` in one statement (the dialect's `Bulk`,
    /// any number of rows), then `tail` (`ON CONFLICT …`, `RETURNING …`).
    fn bulk(head: &'static str, rows: Bulk, tail: &'static str) -> QueryBuilder<Db> {
        let mut query = QueryBuilder::<Db>::new(head);
        rows.push_rows(&mut query);
        query.push(tail);
        query
    }

    /// Carries out `plan` (see the module comment), all but the roster numbers.
    pub(in crate::store) async fn write_plan(
        conn: &mut Conn,
        list: &ValidList,
        plan: &Plan<'_>,
    ) -> Result<(), StoreError> {
        upsert_students(conn, list, &plan.accepted).await?;
        upsert_representatives(conn, list, &plan.accepted).await?;
        unlink(conn, &plan.unlink).await?;
        revoke(conn, list, &plan.revoke).await?;
        insert_vouchers(conn, list, plan).await?;
        insert_audits(conn, &plan.audit).await?;
        upsert_entries(conn, list, plan).await?;
        if !plan.dropped.is_empty() {
            let iins: Vec<String> = plan.dropped.iter().map(Iin::expose).collect();
            let sql = format!(
                "DELETE FROM eligibility_entries WHERE programme = $1 AND period = $2 \
                 AND school_bin = $3 AND student_iin {}",
                in_list("$4")
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(list.programme.as_str())
                .bind(list.period.to_string())
                .bind(list.school.bin.to_string())
                .bind(text_list(&iins))
                .persistent(false)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn upsert_students(
        conn: &mut Conn,
        list: &ValidList,
        rows: &[&ValidRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let students = || rows.iter().map(|r| &r.student);
        let values = Bulk::new()
            .column(students().map(|s| s.iin.expose()))
            .column(students().map(|s| s.full_name.clone()))
            .column(students().map(|s| s.school.to_string()))
            .column(students().map(|s| SmallInt::from(s.grade)))
            .column(students().map(|s| s.class_label.clone()))
            .column(students().map(|s| s.category.as_str()))
            .column(students().map(|_| ts(list.received_at)));
        bulk(
            "INSERT INTO students (iin, full_name, school_bin, grade, class_label, category, updated_at) ",
            values,
            STUDENT_UPSERT,
        )
        .build()
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// The representatives the rows name, and their links to the students.
    async fn upsert_representatives(
        conn: &mut Conn,
        list: &ValidList,
        rows: &[&ValidRow],
    ) -> Result<(), StoreError> {
        let reps = representatives(rows);
        if !reps.is_empty() {
            let values = Bulk::new()
                .column(reps.iter().map(|r| r.iin.expose()))
                .column(reps.iter().map(|r| r.full_name.clone()))
                .column(reps.iter().map(|r| r.phone.clone()))
                .column(reps.iter().map(|_| ts(list.received_at)));
            bulk(
                "INSERT INTO representatives (iin, full_name, phone, updated_at) ",
                values,
                REPRESENTATIVE_UPSERT,
            )
            .build()
            .execute(&mut *conn)
            .await?;
        }
        let links: Vec<(Iin, Iin, &'static str)> = rows
            .iter()
            .flat_map(|r| {
                let student = r.student.iin;
                r.representatives.iter().map(move |(rep, rel)| (student, rep.iin, rel.as_str()))
            })
            .collect();
        if !links.is_empty() {
            let values = Bulk::new()
                .column(links.iter().map(|(student, _, _)| student.expose()))
                .column(links.iter().map(|(_, rep, _)| rep.expose()))
                .column(links.iter().map(|(_, _, relation)| *relation));
            bulk(
                "INSERT INTO student_representatives (student_iin, representative_iin, relation) ",
                values,
                LINK_UPSERT,
            )
            .build()
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Representatives the list no longer names lose access to the child's vouchers.
    async fn unlink(conn: &mut Conn, pairs: &[(Iin, Iin)]) -> Result<(), StoreError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let values = Bulk::new()
            .column(pairs.iter().map(|(student, _)| student.expose()))
            .column(pairs.iter().map(|(_, rep)| rep.expose()));
        bulk(
            "DELETE FROM student_representatives WHERE (student_iin, representative_iin) IN (",
            values,
            ")",
        )
        .build()
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Revokes the live vouchers, each only in the state the plan read it in.
    async fn revoke(
        conn: &mut Conn,
        list: &ValidList,
        vouchers: &[LiveVoucher],
    ) -> Result<(), StoreError> {
        for from in [VoucherState::Formed, VoucherState::Activated] {
            let ids: Vec<VoucherId> =
                vouchers.iter().filter(|v| v.state == from).map(|v| v.id).collect();
            if ids.is_empty() {
                continue;
            }
            let mut q =
                QueryBuilder::<Db>::new("UPDATE vouchers SET state = 'revoked', roster_seq = ");
            q.push_bind(ROSTER_PENDING)
                .push(", updated_at = ")
                .push_bind(ts(list.received_at))
                .push(" WHERE state = ")
                .push_bind(from.as_str())
                .push(" AND id IN (");
            Bulk::new()
                .column(ids.iter().map(|id| uuid(id.as_uuid())))
                .push_rows(&mut q);
            q.push(") RETURNING id");
            if q.build().fetch_all(&mut *conn).await?.len() != ids.len() {
                return Err(raced("a voucher"));
            }
        }
        Ok(())
    }

    async fn insert_vouchers(
        conn: &mut Conn,
        list: &ValidList,
        plan: &Plan<'_>,
    ) -> Result<(), StoreError> {
        if plan.form.is_empty() {
            return Ok(());
        }
        let vouchers = || plan.form.iter().map(|f| &f.voucher);
        let values = Bulk::new()
            .column(vouchers().map(|v| uuid(v.id.as_uuid())))
            .column(vouchers().map(|v| v.programme.as_str()))
            .column(vouchers().map(|v| v.student.expose()))
            .column(vouchers().map(|v| v.school.to_string()))
            .column(plan.form.iter().map(|f| f.state.as_str()))
            .column(vouchers().map(|v| date(v.period.first_day)))
            .column(vouchers().map(|v| date(v.period.last_day)))
            .column(vouchers().map(|v| ts(v.formed_at)))
            .column(vouchers().map(|v| ts(v.formed_at)))
            .column(plan.form.iter().map(|f| {
            (f.state == VoucherState::Activated).then(|| ts(list.received_at))
        }))
            .column(plan.form.iter().map(|_| ROSTER_PENDING));
        let written = bulk(
            "INSERT INTO vouchers (id, programme, student_iin, school_bin, state, valid_from, \
             valid_until, formed_at, updated_at, activated_at, roster_seq) ",
            values,
            " ON CONFLICT (programme, student_iin, valid_from) \
             WHERE state IN ('formed', 'activated') DO NOTHING RETURNING id",
        )
        .build()
        .fetch_all(&mut *conn)
        .await?;
        if written.len() != plan.form.len() {
            return Err(raced("a student's voucher"));
        }
        Ok(())
    }

    async fn insert_audits(
        conn: &mut Conn,
        entries: &[crate::domain::audit::AuditEntry],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let values = Bulk::new()
            .column(entries.iter().map(|e| ts(e.at)))
            .column(entries.iter().map(|e| e.actor.to_record()))
            .column(entries.iter().map(|e| e.entity_kind))
            .column(entries.iter().map(|e| e.entity_id.clone()))
            .column(entries.iter().map(|e| e.action.clone()))
            .column(entries.iter().map(|e| e.from_state.clone()))
            .column(entries.iter().map(|e| e.to_state.clone()))
            .column(entries.iter().map(|e| e.reason.clone()));
        bulk(
            "INSERT INTO audit_log (at, actor, entity_kind, entity_id, action, from_state, to_state, reason) ",
            values,
            "",
        )
        .build()
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Who is on the list: a row waiting for consent keeps the status it has (a voucher a
    /// parent's "yes" formed stays linked). Another school's entry is never overwritten.
    async fn upsert_entries(
        conn: &mut Conn,
        list: &ValidList,
        plan: &Plan<'_>,
    ) -> Result<(), StoreError> {
        if plan.entries.is_empty() {
            return Ok(());
        }
        let entries = &plan.entries;
        let (period, school) = (list.period.to_string(), list.school.bin.to_string());
        let values = Bulk::new()
            .column(entries.iter().map(|_| list.programme.as_str()))
            .column(entries.iter().map(|_| period.clone()))
            .column(entries.iter().map(|e| e.student.expose()))
            .column(entries.iter().map(|_| school.clone()))
            .column(entries.iter().map(|_| uuid(list.id)))
            .column(entries.iter().map(|e| {
            if e.voucher.is_some() { "voucher_formed" } else { "awaiting_consent" }
        }))
            .column(entries.iter().map(|e| e.voucher.map(|v| uuid(v.as_uuid()))))
            .column(entries.iter().map(|_| ts(list.received_at)));
        let written = bulk(
            "INSERT INTO eligibility_entries (programme, period, student_iin, school_bin, \
             list_id, status, voucher_id, updated_at) ",
            values,
            " ON CONFLICT (programme, period, student_iin) DO UPDATE SET \
                 list_id = excluded.list_id, updated_at = excluded.updated_at, \
                 status = CASE WHEN excluded.voucher_id IS NULL THEN eligibility_entries.status \
                 ELSE excluded.status END, \
                 voucher_id = COALESCE(excluded.voucher_id, eligibility_entries.voucher_id) \
                 WHERE eligibility_entries.school_bin = excluded.school_bin RETURNING student_iin",
        )
        .build()
        .fetch_all(&mut *conn)
        .await?;
        if written.len() != entries.len() {
            return Err(raced("another school's list"));
        }
        Ok(())
    }

    /// Marks every live voucher of `students` as changed for the terminals' next roster pull
    /// (`ROSTER_PENDING`); the vouchers this list formed or revoked were marked as written.
    pub(in crate::store) async fn roster_changed_all(
        conn: &mut Conn,
        students: &HashSet<Iin>,
    ) -> Result<(), StoreError> {
        let iins: Vec<String> = students.iter().map(Iin::expose).collect();
        let sql = format!(
            "UPDATE vouchers SET roster_seq = $1 WHERE state IN ('formed', 'activated') \
             AND roster_seq <> $1 AND student_iin {}",
            in_list("$2")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ROSTER_PENDING)
            .bind(text_list(&iins))
                .persistent(false)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
