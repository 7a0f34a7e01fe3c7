//! Vouchers, their transitions and views, and the audit trail.

use std::collections::HashMap;

use async_trait::async_trait;
use shared::time::YearMonth;
use shared::{Bin, Iin, VoucherId};
use sqlx::{QueryBuilder, Row};

use crate::domain::audit::{AuditEntry, AuditRecord};
use crate::domain::voucher::{NewVoucher, Voucher, VoucherState, VoucherView};
use crate::store::grouped::GroupWork;
use crate::store::{Formed, StoreError, VoucherStore};

super::per_backend! {
    #[async_trait]
    impl VoucherStore for Store {
        async fn form_voucher(&self, v: &NewVoucher, audit: &AuditEntry) -> Result<Formed, StoreError> {
            let mut tx = write(self).await?;
            let outcome = form_in(&mut tx, v, audit).await?;
            tx.commit().await?;
            Ok(outcome)
        }

        async fn voucher(&self, id: VoucherId) -> Result<Option<Voucher>, StoreError> {
            let mut conn = self.pool.acquire().await?;
            fetch_voucher(&mut conn, id).await
        }

        async fn voucher_at_school(
            &self,
            school: Bin,
            id: VoucherId,
        ) -> Result<Option<Voucher>, StoreError> {
            let sql =
                format!("SELECT {VOUCHER_COLUMNS} FROM vouchers v WHERE v.id = $1 AND v.school_bin = $2");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(uuid(id.as_uuid()))
                .bind(school.to_string())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(voucher_from_row).transpose()
        }

        async fn transition_voucher(
            &self,
            id: VoucherId,
            from: VoucherState,
            to: VoucherState,
            audit: &AuditEntry,
        ) -> Result<Voucher, StoreError> {
            let mut tx = write(self).await?;
            let voucher = transition_in(&mut tx, id, from, to, audit).await?;
            tx.commit().await?;
            // Committed: this process' mints read it from now on (others hear a NOTIFY).
            self.facts().forget([id]);
            Ok(voucher)
        }

        async fn vouchers_of_representative(
            &self,
            rep: Iin,
            month: YearMonth,
        ) -> Result<Vec<VoucherView>, StoreError> {
            let sql = format!(
                "{VIEW_SELECT} JOIN student_representatives sr ON sr.student_iin = v.student_iin \
                 WHERE sr.representative_iin = $3 ORDER BY v.formed_at DESC, v.id DESC"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(date(month.first_day()))
                .bind(date(month.last_day()))
                .bind(rep.expose())
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(view_from_row).collect()
        }

        async fn voucher_of_representative(
            &self,
            id: VoucherId,
            rep: Iin,
            month: YearMonth,
        ) -> Result<Option<VoucherView>, StoreError> {
            let sql = format!(
                "{VIEW_SELECT} JOIN student_representatives sr ON sr.student_iin = v.student_iin \
                 WHERE v.id = $3 AND sr.representative_iin = $4"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(date(month.first_day()))
                .bind(date(month.last_day()))
                .bind(uuid(id.as_uuid()))
                .bind(rep.expose())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(view_from_row).transpose()
        }

        async fn represented_voucher(
            &self,
            id: VoucherId,
            rep: Iin,
        ) -> Result<Option<Voucher>, StoreError> {
            let facts = self.facts();
            if let Some(voucher) = facts.get(id, rep) {
                return Ok(Some(voucher));
            }
            let ticket = facts.ticket();
            // With the other misses of the moment, in one statement (`RepresentedLookups`).
            let voucher = self.represented.submit((id, rep)).await?;
            // Only what exists is kept: a voucher or representation that appears later needs
            // no invalidation.
            if let (Some(ticket), Some(voucher)) = (ticket, &voucher) {
                facts.fill(ticket, rep, voucher);
            }
            Ok(voucher)
        }

        async fn vouchers_of_school(
            &self,
            school: Bin,
            month: YearMonth,
        ) -> Result<Vec<VoucherView>, StoreError> {
            let sql = format!(
                "{VIEW_SELECT} WHERE v.school_bin = $3 ORDER BY s.class_label, s.full_name, v.formed_at"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(date(month.first_day()))
                .bind(date(month.last_day()))
                .bind(school.to_string())
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(view_from_row).collect()
        }

        async fn audit_trail(
            &self,
            entity_kind: &str,
            entity_id: &str,
        ) -> Result<Vec<AuditRecord>, StoreError> {
            let rows = sqlx::query(
                "SELECT id, at, actor, entity_kind, entity_id, action, from_state, to_state, reason \
                 FROM audit_log WHERE entity_kind = $1 AND entity_id = $2 ORDER BY id",
            )
            .bind(entity_kind)
            .bind(entity_id)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRecord {
                        id: r.try_get("id")?,
                        at: get_ts(r, "at")?,
                        actor: r.try_get("actor")?,
                        entity_kind: r.try_get("entity_kind")?,
                        entity_id: r.try_get("entity_id")?,
                        action: r.try_get("action")?,
                        from_state: r.try_get("from_state")?,
                        to_state: r.try_get("to_state")?,
                        reason: r.try_get("reason")?,
                    })
                })
                .collect()
        }
    }

    /// The represented-voucher lookups that missed the cache, run in groups
    /// (`store/grouped.rs`) on this pool.
    pub(in crate::store) struct RepresentedLookups(pub(in crate::store) sqlx::Pool<Db>);

    #[async_trait]
    impl GroupWork for RepresentedLookups {
        type Job = (VoucherId, Iin);
        type Answer = Option<Voucher>;
        async fn run(&self, keys: &[Self::Job]) -> Result<Vec<Self::Answer>, StoreError> {
            represented_vouchers(&self.0, keys).await
        }
    }

    /// The vouchers of a group of (voucher, parent) lookups, in the keys' order: `None`
    /// where the voucher does not exist or the parent does not represent its student. One
    /// statement for the morning's concurrent cache misses.
    async fn represented_vouchers(
        pool: &sqlx::Pool<Db>,
        keys: &[(VoucherId, Iin)],
    ) -> Result<Vec<Option<Voucher>>, StoreError> {
        let mut q = QueryBuilder::<Db>::new("WITH asked (voucher_id, rep) AS (");
        Bulk::new()
            .column(keys.iter().map(|(id, _)| uuid(id.as_uuid())))
            .column(keys.iter().map(|(_, rep)| rep.expose()))
            .push_rows(&mut q);
        q.push(format!(
            ") SELECT {VOUCHER_COLUMNS}, asked.rep FROM asked \
             JOIN vouchers v ON v.id = asked.voucher_id \
             JOIN student_representatives sr \
             ON sr.student_iin = v.student_iin AND sr.representative_iin = asked.rep"
        ));
        let rows = q.build().fetch_all(pool).await?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in &rows {
            let rep: String = row.try_get("rep")?;
            let voucher = voucher_from_row(row)?;
            found.insert((voucher.id, rep), voucher);
        }
        Ok(keys
            .iter()
            .map(|(id, rep)| found.get(&(*id, rep.expose())).cloned())
            .collect())
    }

    /// Forms a voucher inside an open transaction (see [`VoucherStore::form_voucher`]).
    pub(in crate::store) async fn form_in(
        tx: &mut Conn,
        v: &NewVoucher,
        audit: &AuditEntry,
    ) -> Result<Formed, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO vouchers (id, programme, student_iin, school_bin, state, valid_from, \
             valid_until, formed_at, updated_at, roster_seq) \
             VALUES ($1, $2, $3, $4, 'formed', $5, $6, $7, $8, $9) \
             ON CONFLICT (programme, student_iin, valid_from) \
             WHERE state IN ('formed', 'activated') DO NOTHING",
        )
        .bind(uuid(v.id.as_uuid()))
        .bind(v.programme.as_str())
        .bind(v.student.expose())
        .bind(v.school.to_string())
        .bind(date(v.period.first_day))
        .bind(date(v.period.last_day))
        .bind(ts(v.formed_at))
        .bind(ts(v.formed_at))
        .bind(ROSTER_PENDING)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            insert_audit(tx, audit).await?;
            let formed = fetch_voucher(tx, v.id).await?.ok_or(StoreError::NotFound)?;
            return Ok(Formed::New(formed));
        }
        let sql = format!(
            "SELECT {VOUCHER_COLUMNS} FROM vouchers v WHERE v.programme = $1 AND v.student_iin = $2 \
             AND v.valid_from = $3 AND v.state IN ('formed', 'activated')"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(v.programme.as_str())
            .bind(v.student.expose())
            .bind(date(v.period.first_day))
            .fetch_one(&mut *tx)
            .await?;
        Ok(Formed::Existing(voucher_from_row(&row)?))
    }

    /// Compare-and-set of a voucher's state inside an open transaction.
    pub(in crate::store) async fn transition_in(
        tx: &mut Conn,
        id: VoucherId,
        from: VoucherState,
        to: VoucherState,
        audit: &AuditEntry,
    ) -> Result<Voucher, StoreError> {
        let changed = sqlx::query(
            "UPDATE vouchers SET state = $1, updated_at = $2, roster_seq = $7, \
             activated_at = CASE WHEN $3 = 'activated' THEN $4 ELSE activated_at END \
             WHERE id = $5 AND state = $6",
        )
        .bind(to.as_str())
        .bind(ts(audit.at))
        .bind(to.as_str())
        .bind(ts(audit.at))
        .bind(uuid(id.as_uuid()))
        .bind(from.as_str())
        .bind(ROSTER_PENDING)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let current = fetch_voucher(tx, id).await?.ok_or(StoreError::NotFound)?;
        if changed == 0 {
            return Err(StoreError::Conflict {
                current: current.state.to_string(),
            });
        }
        insert_audit(tx, audit).await?;
        Ok(current)
    }
}
