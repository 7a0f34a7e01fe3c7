//! Applying a monthly eligibility list in one transaction; what each change means is the
//! domain's (`domain::list::VoucherChange`), the store reads, writes and rolls back.
//!
//! Each row runs inside its own savepoint: a row refused by the database (the student is
//! already on another school's list for the period) rolls back whole, leaving nothing half
//! written, while the rest of the list goes on.

use std::collections::HashSet;

use async_trait::async_trait;
use shared::{Bin, Iin, VoucherId};
use sqlx::{Acquire, Row};

use crate::domain::list::{
    carried_activation, live_voucher_change, unnamed_representatives, ListOutcome, RowOutcome,
    RowRejection, ValidList, ValidRow, VoucherChange,
};
use crate::domain::voucher::{NewVoucher, VoucherState};
use crate::store::{parse_stored, EligibilityStore, Formed, StoreError};

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
            for student in entitlements::apply_list(&mut tx, list).await? {
                student_roster_changed(&mut tx, student).await?;
            }
            sqlx::query("UPDATE eligibility_lists SET rows_accepted = $1 WHERE id = $2")
                .bind(i64::try_from(on_list.len()).unwrap_or(i64::MAX))
                .bind(uuid(list.id))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            // Vouchers revoked or moved, representatives dropped: this process' mints read
            // afresh from now on (other processes hear migration 0018's NOTIFY).
            self.facts().forget_all();
            Ok(ListOutcome { rows, revoked })
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
        let linked = linked
            .into_iter()
            .map(|iin| parse_stored("representative IIN", &iin))
            .collect::<Result<Vec<Iin>, _>>()?;
        for old in unnamed_representatives(row, &linked) {
            sqlx::query("DELETE FROM student_representatives WHERE student_iin = $1 AND representative_iin = $2")
                .bind(s.iin.expose())
                .bind(old.expose())
                .execute(&mut *conn)
                .await?;
        }
        // Name or class may have changed: terminals re-read the student's live vouchers.
        student_roster_changed(conn, s.iin).await?;
        if !row.forms_voucher && !agreed_this_school_year(conn, list, s.iin).await? {
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

    /// Whether a parent of the student agreed by SMS this school year: consent given stands
    /// for the year, also at a school the student moves to.
    async fn agreed_this_school_year(
        conn: &mut Conn,
        list: &ValidList,
        student: Iin,
    ) -> Result<bool, StoreError> {
        let agreed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM consent_requests WHERE programme = $1 AND student_iin = $2 \
             AND period_from = $3 AND state = 'agreed'",
        )
        .bind(list.programme.as_str())
        .bind(student.expose())
        .bind(date(list.voucher_period.first_day))
        .fetch_one(&mut *conn)
        .await?;
        Ok(agreed > 0)
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
        let mut moved_from = None;
        if let Some(live) = live {
            let school: Bin = parse_stored("school BIN", live.try_get("school_bin")?)?;
            if let Some(change) = live_voucher_change(row, school) {
                let state: VoucherState = parse_stored("voucher state", live.try_get("state")?)?;
                revoke_live(conn, list, &live, change).await?;
                moved_from = Some((school, state));
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
        let entry = VoucherChange::Form.audit(list, new.id, None);
        let formed = form_in(conn, &new, &entry).await?;
        let voucher = formed.voucher().clone();
        if let (Formed::New(_), Some((from, old_state))) = (&formed, moved_from) {
            if let Some(change) = carried_activation(from, old_state) {
                let entry = change.audit(list, voucher.id, Some(voucher.state));
                transition_in(conn, voucher.id, voucher.state, change.to(), &entry).await?;
            }
        }
        Ok(voucher.id)
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
                revoked.push(revoke_live(conn, list, &live, VoucherChange::RevokeDropped).await?);
            }
        }
        Ok(revoked)
    }

    /// Applies `change` to the live voucher in `live` (its `id` and `state` columns), with
    /// the audit entry and roster change; returns its id.
    async fn revoke_live(
        conn: &mut Conn,
        list: &ValidList,
        live: &DbRow,
        change: VoucherChange,
    ) -> Result<VoucherId, StoreError> {
        let id = VoucherId::from_uuid(get_uuid(live, "id")?);
        let state: VoucherState = parse_stored("voucher state", live.try_get("state")?)?;
        let entry = change.audit(list, id, Some(state));
        transition_in(conn, id, state, change.to(), &entry).await?;
        Ok(id)
    }
}
