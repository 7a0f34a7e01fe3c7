//! Applying a monthly eligibility list in one transaction.
//!
//! Each row runs inside its own savepoint: a row refused by the database (the student is
//! already on another school's list for the period) rolls back whole, leaving nothing half
//! written, while the rest of the list goes on.

use std::collections::HashSet;

use async_trait::async_trait;
use shared::{Iin, VoucherId};
use sqlx::{Acquire, Row};

use crate::domain::audit::AuditEntry;
use crate::domain::list::{ListOutcome, RowOutcome, RowRejection, ValidList, ValidRow};
use crate::domain::voucher::{NewVoucher, VoucherState};
use crate::store::{parse_stored, EligibilityStore, StoreError};

super::per_backend! {
    use vouchers::{form_in, transition_in};

    #[async_trait]
    impl EligibilityStore for Store {
        async fn apply_eligibility_list(&self, list: &ValidList) -> Result<ListOutcome, StoreError> {
            let mut tx = write(self).await?;
            sqlx::query(
                "INSERT INTO schools (bin, name, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (bin) DO UPDATE SET name = excluded.name",
            )
            .bind(list.school.bin.to_string())
            .bind(&list.school.name)
            .bind(ts(list.received_at))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO eligibility_lists (id, school_bin, programme, period, received_at, \
                 received_by, content_hash, rows_total, rows_accepted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
            )
            .bind(uuid(list.id))
            .bind(list.school.bin.to_string())
            .bind(list.programme.as_str())
            .bind(list.period.to_string())
            .bind(ts(list.received_at))
            .bind(list.received_by.to_record())
            .bind(&list.content_hash)
            .bind(i64::try_from(list.rows.len() + list.rejected.len()).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;

            let mut rows = Vec::with_capacity(list.rows.len());
            let mut on_list = HashSet::new();
            for row in &list.rows {
                let mut sp = tx.begin().await?;
                match apply_row(&mut sp, list, row).await? {
                    Some(outcome) => {
                        sp.commit().await?;
                        on_list.insert(row.student.iin);
                        rows.push((row.index, outcome));
                    }
                    None => {
                        sp.rollback().await?;
                        let rejected = RowOutcome::Rejected(RowRejection::ClaimedByOtherSchool);
                        rows.push((row.index, rejected));
                    }
                }
            }
            let revoked = drop_missing(&mut tx, list, &on_list).await?;
            sqlx::query("UPDATE eligibility_lists SET rows_accepted = $1 WHERE id = $2")
                .bind(i64::try_from(on_list.len()).unwrap_or(i64::MAX))
                .bind(uuid(list.id))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(ListOutcome { rows, revoked })
        }
    }

    fn audit(
        list: &ValidList,
        id: VoucherId,
        action: &str,
        from: Option<VoucherState>,
        to: VoucherState,
        reason: String,
    ) -> AuditEntry {
        AuditEntry {
            at: list.received_at,
            actor: list.received_by.clone(),
            entity_kind: "voucher",
            entity_id: id.to_string(),
            action: action.into(),
            from_state: from.map(|s| s.to_string()),
            to_state: Some(to.to_string()),
            reason: Some(reason),
        }
    }

    /// Stores one row; `None` when another school already claims the student for the period.
    async fn apply_row(
        conn: &mut Conn,
        list: &ValidList,
        row: &ValidRow,
    ) -> Result<Option<RowOutcome>, StoreError> {
        let s = &row.student;
        upsert_student_with(&mut *conn, s, list.received_at).await?;
        let claimed = sqlx::query(
            "INSERT INTO eligibility_entries (programme, period, student_iin, school_bin, list_id, \
             status, voucher_id, updated_at) VALUES ($1, $2, $3, $4, $5, 'awaiting_consent', NULL, $6) \
             ON CONFLICT (programme, period, student_iin) DO UPDATE SET list_id = excluded.list_id, \
             updated_at = excluded.updated_at WHERE eligibility_entries.school_bin = excluded.school_bin",
        )
        .bind(list.programme.as_str())
        .bind(list.period.to_string())
        .bind(s.iin.expose())
        .bind(s.school.to_string())
        .bind(uuid(list.id))
        .bind(ts(list.received_at))
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        for (rep, relation) in &row.representatives {
            upsert_representative_with(&mut *conn, rep, list.received_at).await?;
            link_representative_with(&mut *conn, s.iin, rep.iin, *relation).await?;
        }
        // The list is the truth about who represents the child: a representative it no longer
        // names loses access to the child's vouchers.
        let linked: Vec<String> = sqlx::query_scalar(
            "SELECT representative_iin FROM student_representatives WHERE student_iin = $1",
        )
        .bind(s.iin.expose())
        .fetch_all(&mut *conn)
        .await?;
        for old in linked {
            if !row
                .representatives
                .iter()
                .any(|(r, _)| r.iin.expose() == old)
            {
                sqlx::query("DELETE FROM student_representatives WHERE student_iin = $1 AND representative_iin = $2")
                    .bind(s.iin.expose())
                    .bind(&old)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        // Name or class may have changed: terminals re-read the student's live vouchers.
        student_roster_changed(conn, s.iin).await?;
        if !row.forms_voucher {
            return Ok(Some(RowOutcome::AwaitingConsent));
        }
        let voucher = form_for_row(conn, list, row).await?;
        sqlx::query(
            "UPDATE eligibility_entries SET status = 'voucher_formed', voucher_id = $1 \
             WHERE programme = $2 AND period = $3 AND student_iin = $4",
        )
        .bind(uuid(voucher.as_uuid()))
        .bind(list.programme.as_str())
        .bind(list.period.to_string())
        .bind(s.iin.expose())
        .execute(&mut *conn)
        .await?;
        Ok(Some(RowOutcome::VoucherFormed(voucher)))
    }

    /// Forms (or finds) the row's voucher; a live voucher at another school is revoked first,
    /// because the student has moved.
    async fn form_for_row(
        conn: &mut Conn,
        list: &ValidList,
        row: &ValidRow,
    ) -> Result<VoucherId, StoreError> {
        let s = &row.student;
        let live = sqlx::query(
            "SELECT id, school_bin, state FROM vouchers WHERE programme = $1 AND student_iin = $2 \
             AND valid_from = $3 AND state IN ('formed', 'activated')",
        )
        .bind(list.programme.as_str())
        .bind(s.iin.expose())
        .bind(date(list.voucher_period.first_day))
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(live) = live {
            let school: String = live.try_get("school_bin")?;
            if school != s.school.to_string() {
                let reason = format!("student listed by school {} for {}", s.school, list.period);
                revoke_live(conn, list, &live, reason).await?;
            }
        }
        let new = NewVoucher {
            id: VoucherId::new(),
            programme: list.programme,
            student: s.iin,
            school: s.school,
            period: list.voucher_period,
            formed_at: list.received_at,
        };
        let reason = format!("eligibility list {} of {}", list.period, list.school.bin);
        let entry = audit(list, new.id, "form", None, VoucherState::Formed, reason);
        Ok(form_in(conn, &new, &entry).await?.voucher().id)
    }

    /// Students of this school's list for the period who are not on the new list: their entry
    /// goes and their live voucher at this school is revoked.
    async fn drop_missing(
        conn: &mut Conn,
        list: &ValidList,
        on_list: &HashSet<Iin>,
    ) -> Result<Vec<VoucherId>, StoreError> {
        let entries = sqlx::query(
            "SELECT student_iin FROM eligibility_entries WHERE school_bin = $1 AND programme = $2 AND period = $3",
        )
        .bind(list.school.bin.to_string())
        .bind(list.programme.as_str())
        .bind(list.period.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut revoked = Vec::new();
        for entry in entries {
            let student: Iin = parse_stored("student IIN", entry.try_get("student_iin")?)?;
            if on_list.contains(&student) {
                continue;
            }
            sqlx::query("DELETE FROM eligibility_entries WHERE programme = $1 AND period = $2 AND student_iin = $3")
                .bind(list.programme.as_str())
                .bind(list.period.to_string())
                .bind(student.expose())
                .execute(&mut *conn)
                .await?;
            let live = sqlx::query(
                "SELECT id, state FROM vouchers WHERE programme = $1 AND student_iin = $2 AND school_bin = $3 \
                 AND valid_from = $4 AND state IN ('formed', 'activated')",
            )
            .bind(list.programme.as_str())
            .bind(student.expose())
            .bind(list.school.bin.to_string())
            .bind(date(list.voucher_period.first_day))
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(live) = live {
                let reason = format!(
                    "no longer on the eligibility list of {} for {}",
                    list.school.bin, list.period
                );
                revoked.push(revoke_live(conn, list, &live, reason).await?);
            }
        }
        Ok(revoked)
    }

    /// Revokes the live voucher in `live` (its `id` and `state` columns) for `list`, with the
    /// audit entry and roster change; returns its id.
    async fn revoke_live(
        conn: &mut Conn,
        list: &ValidList,
        live: &DbRow,
        reason: String,
    ) -> Result<VoucherId, StoreError> {
        let id = VoucherId::from_uuid(get_uuid(live, "id")?);
        let state: VoucherState = parse_stored("voucher state", live.try_get("state")?)?;
        let entry = audit(list, id, "revoke", Some(state), VoucherState::Revoked, reason);
        transition_in(conn, id, state, VoucherState::Revoked, &entry).await?;
        Ok(id)
    }
}
