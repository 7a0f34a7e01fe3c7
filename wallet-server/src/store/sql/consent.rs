//! Consent conversations. A move of a conversation is one write transaction with everything
//! that goes with it: the SMS into the outbox, the next job, the voucher and the list entries
//! it satisfies, the audit entry. The compare-and-set UPDATE makes concurrent moves (a reply
//! racing a reminder, two servers) apply at most once.

use async_trait::async_trait;
use shared::time::YearMonth;
use shared::{Bin, VoucherId};
use sqlx::Row as _;
use uuid::Uuid;

use crate::domain::audit::AuditEntry;
use crate::domain::consent::ConsentState;
use crate::domain::consent::{standing, PastConsent};
use crate::domain::consent::{ConsentRequest, ConsentStarted, ConsentTransition, NewConsent};
use crate::domain::voucher::{NewVoucher, SchoolYear};
use crate::store::{parse_stored, ConsentStore, StoreError};

super::per_backend! {
    use jobs::{insert_job, insert_message};
    use vouchers::form_in;

    const SELECT: &str = "SELECT c.id, c.programme, c.student_iin, s.full_name AS student_name, \
         c.school_bin, c.period_from, c.period_until, c.list_period, c.representative_iin, \
         r.full_name AS parent_name, c.phone, c.language, c.state, c.reason, c.created_at, \
         c.updated_at, c.reminded_at, c.finished_at, c.voucher_id \
         FROM consent_requests c JOIN students s ON s.iin = c.student_iin \
         LEFT JOIN representatives r ON r.iin = c.representative_iin";

    fn from_row(r: &DbRow) -> Result<ConsentRequest, StoreError> {
        let representative: Option<String> = r.try_get("representative_iin")?;
        let voucher: Option<StoredUuid> = r.try_get("voucher_id")?;
        Ok(ConsentRequest {
            id: get_uuid(r, "id")?,
            programme: parse_stored("programme", r.try_get("programme")?)?,
            student: parse_stored("student IIN", r.try_get("student_iin")?)?,
            student_name: r.try_get("student_name")?,
            school: parse_stored("school BIN", r.try_get("school_bin")?)?,
            period: SchoolYear {
                first_day: get_date(r, "period_from")?,
                last_day: get_date(r, "period_until")?,
            },
            month: parse_stored("list month", r.try_get("list_period")?)?,
            representative: representative
                .map(|s| parse_stored("representative IIN", &s))
                .transpose()?,
            parent_name: r.try_get("parent_name")?,
            phone: r.try_get("phone")?,
            language: parse_stored("language", r.try_get("language")?)?,
            state: parse_stored("consent state", r.try_get("state")?)?,
            reason: r.try_get("reason")?,
            created_at: get_ts(r, "created_at")?,
            updated_at: get_ts(r, "updated_at")?,
            reminded_at: get_opt_ts(r, "reminded_at")?,
            finished_at: get_opt_ts(r, "finished_at")?,
            voucher: voucher.map(parse_uuid).transpose()?.map(VoucherId::from_uuid),
        })
    }

    async fn fetch(conn: &mut Conn, id: Uuid) -> Result<Option<ConsentRequest>, StoreError> {
        let sql = format!("{SELECT} WHERE c.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid(id))
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Forms (or finds) the voucher of an agreed request and links the request and the
    /// student's list entries of the school year that wait for consent.
    async fn form_and_link(
        conn: &mut Conn,
        consent: Uuid,
        voucher: &NewVoucher,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let id = form_in(conn, voucher, audit).await?.voucher().id;
        sqlx::query("UPDATE consent_requests SET voucher_id = $1 WHERE id = $2")
            .bind(uuid(id.as_uuid()))
            .bind(uuid(consent))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE eligibility_entries SET status = 'voucher_formed', voucher_id = $1, \
             updated_at = $2 WHERE programme = $3 AND student_iin = $4 \
             AND status = 'awaiting_consent' AND period BETWEEN $5 AND $6",
        )
        .bind(uuid(id.as_uuid()))
        .bind(ts(voucher.formed_at))
        .bind(voucher.programme.as_str())
        .bind(voucher.student.expose())
        .bind(YearMonth::of(voucher.period.first_day).to_string())
        .bind(YearMonth::of(voucher.period.last_day).to_string())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// The existing request that stands for this one, if any (the rule is the domain's
    /// [`standing`]). The student's row is locked first (`FOR_UPDATE`; on SQLite the write
    /// transaction already holds the database), so two lists starting the same student's
    /// conversation queue up here.
    async fn existing(conn: &mut Conn, n: &NewConsent) -> Result<Option<Uuid>, StoreError> {
        let lock = format!("SELECT 1 FROM students WHERE iin = $1{FOR_UPDATE}");
        sqlx::query(sqlx::AssertSqlSafe(lock))
            .bind(n.student.expose())
            .execute(&mut *conn)
            .await?;
        let rows = sqlx::query(
            "SELECT id, state, list_period FROM consent_requests WHERE programme = $1 \
             AND student_iin = $2 AND period_from = $3 ORDER BY created_at DESC, id DESC",
        )
        .bind(n.programme.as_str())
        .bind(n.student.expose())
        .bind(date(n.period.first_day))
        .fetch_all(&mut *conn)
        .await?;
        let past = rows
            .iter()
            .map(|r| {
                Ok(PastConsent {
                    id: get_uuid(r, "id")?,
                    state: parse_stored("consent state", r.try_get("state")?)?,
                    month: parse_stored("list month", r.try_get("list_period")?)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(standing(&past, n.month, n.contact.is_some()))
    }

    async fn start_one(conn: &mut Conn, n: &NewConsent) -> Result<ConsentStarted, StoreError> {
        if let Some(id) = existing(conn, n).await? {
            let request = fetch(conn, id).await?.ok_or(StoreError::NotFound)?;
            if request.state != ConsentState::Agreed {
                return Ok(ConsentStarted {
                    request,
                    new: false,
                });
            }
            form_and_link(conn, id, &n.voucher, &n.voucher_audit).await?;
            let request = fetch(conn, id).await?.ok_or(StoreError::NotFound)?;
            return Ok(ConsentStarted {
                request,
                new: false,
            });
        }
        let state = n.initial_state();
        sqlx::query(
            "INSERT INTO consent_requests (id, programme, student_iin, school_bin, period_from, \
             period_until, representative_iin, phone, language, state, reason, created_at, \
             updated_at, finished_at, list_period) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14)",
        )
        .bind(uuid(n.id))
        .bind(n.programme.as_str())
        .bind(n.student.expose())
        .bind(n.school.to_string())
        .bind(date(n.period.first_day))
        .bind(date(n.period.last_day))
        .bind(n.contact.as_ref().map(|c| c.representative.expose()))
        .bind(n.contact.as_ref().map(|c| c.phone.clone()))
        .bind(
            n.contact
                .as_ref()
                .map(|c| c.language)
                .unwrap_or_default()
                .as_str(),
        )
        .bind(state.as_str())
        .bind(&n.reason)
        .bind(ts(n.at))
        .bind((state == ConsentState::NoPhone).then(|| ts(n.at)))
        .bind(n.month.to_string())
        .execute(&mut *conn)
        .await?;
        if let Some(sms) = &n.sms {
            insert_message(conn, sms).await?;
        }
        if let Some(job) = &n.job {
            insert_job(conn, job).await?;
        }
        insert_audit(conn, &n.audit).await?;
        let request = fetch(conn, n.id).await?.ok_or(StoreError::NotFound)?;
        // Ended at once (`no_phone`): the outcome goes back to NOBD with the record.
        if let Some(status) = crate::domain::nobd::consent_outcome(&request, n.at) {
            insert_message(conn, &status).await?;
        }
        Ok(ConsentStarted { request, new: true })
    }

    #[async_trait]
    impl ConsentStore for Store {
        async fn start_consents(
            &self,
            new: &[NewConsent],
        ) -> Result<Vec<ConsentStarted>, StoreError> {
            let mut tx = write(self).await?;
            let mut started = Vec::with_capacity(new.len());
            for n in new {
                started.push(start_one(&mut tx, n).await?);
            }
            tx.commit().await?;
            Ok(started)
        }

        async fn consent_request(&self, id: Uuid) -> Result<Option<ConsentRequest>, StoreError> {
            let mut conn = self.pool.acquire().await?;
            fetch(&mut conn, id).await
        }

        async fn open_consent_for_phone(
            &self,
            phone: &str,
        ) -> Result<Option<ConsentRequest>, StoreError> {
            let sql = format!(
                "{SELECT} WHERE c.phone = $1 AND c.state IN ('pending', 'reminded') \
                 ORDER BY c.created_at, c.id LIMIT 1"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(phone)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(from_row).transpose()
        }

        async fn transition_consent(
            &self,
            t: &ConsentTransition,
        ) -> Result<ConsentRequest, StoreError> {
            let mut tx = write(self).await?;
            let changed = sqlx::query(
                "UPDATE consent_requests SET state = $1, updated_at = $2, \
                 reason = COALESCE($3, reason), \
                 reminded_at = CASE WHEN $4 THEN $2 ELSE reminded_at END, \
                 finished_at = CASE WHEN $5 THEN $2 ELSE finished_at END \
                 WHERE id = $6 AND state = $7",
            )
            .bind(t.to.as_str())
            .bind(ts(t.at))
            .bind(&t.reason)
            .bind(t.reminds())
            .bind(t.finishes())
            .bind(uuid(t.id))
            .bind(t.from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                let current = fetch(&mut tx, t.id).await?.ok_or(StoreError::NotFound)?;
                return Err(StoreError::Conflict {
                    current: current.state.to_string(),
                });
            }
            if let Some((voucher, audit)) = &t.voucher {
                form_and_link(&mut tx, t.id, voucher, audit).await?;
            }
            if let Some(sms) = &t.sms {
                insert_message(&mut tx, sms).await?;
            }
            if let Some(job) = &t.job {
                insert_job(&mut tx, job).await?;
            }
            insert_audit(&mut tx, &t.audit).await?;
            let request = fetch(&mut tx, t.id).await?.ok_or(StoreError::NotFound)?;
            // An ending move sends its outcome back to NOBD in the same transaction.
            if let Some(status) = crate::domain::nobd::consent_outcome(&request, t.at) {
                insert_message(&mut tx, &status).await?;
            }
            tx.commit().await?;
            Ok(request)
        }

        async fn consent_requests(&self, limit: i64) -> Result<Vec<ConsentRequest>, StoreError> {
            let sql = format!("{SELECT} ORDER BY c.created_at DESC, c.id DESC LIMIT $1");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(from_row).collect()
        }

        async fn consents_of_school(
            &self,
            school: Bin,
        ) -> Result<Vec<ConsentRequest>, StoreError> {
            let sql = format!(
                "{SELECT} WHERE c.school_bin = $1 ORDER BY c.created_at DESC, c.id DESC"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(school.to_string())
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(from_row).collect()
        }

        async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            insert_audit(&mut tx, entry).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
