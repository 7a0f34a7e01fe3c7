//! Card bindings, enrollment codes, meals on a voucher, feedback and the outbox.

use async_trait::async_trait;
use shared::{Bin, CardUid, Iin, VoucherId};

super::per_backend! {
    use sqlx::Row;

    use crate::domain::terminal::{CardBinding, CardBound, EnrollmentCode};
    use crate::domain::feedback::{ComplaintLimit, Feedback, FeedbackStored};
    use crate::domain::meal::MealRecord;
    use crate::domain::outbox::OutboxMessage;
    use crate::store::{SchoolOpsStore, StoreError, WalletRecordStore, parse_stored};

    #[async_trait]
    impl SchoolOpsStore for Store {
        async fn bind_card(&self, b: &CardBinding) -> Result<CardBound, StoreError> {
            let mut tx = write(self).await?;
            let school: Option<String> =
                sqlx::query_scalar("SELECT school_bin FROM students WHERE iin = $1")
                    .bind(b.student.expose())
                    .fetch_optional(&mut *tx)
                    .await?;
            if school.as_deref() != Some(b.school.to_string().as_str()) {
                return Err(StoreError::NotFound);
            }
            let mut taken_from = None;
            if let Some((holder, holder_school)) = card_holder(&mut tx, b.card).await? {
                if holder == b.student {
                    return Ok(CardBound::Unchanged);
                }
                if holder_school == b.school {
                    return Err(StoreError::Conflict {
                        current: "bound to another student of this school".into(),
                    });
                }
                take_over_card(&mut tx, b, holder, holder_school).await?;
                taken_from = Some(holder_school);
            }
            let old: Option<String> =
                sqlx::query_scalar("SELECT card_uid FROM cards WHERE student_iin = $1")
                    .bind(b.student.expose())
                    .fetch_optional(&mut *tx)
                    .await?;
            let replaced: Option<CardUid> = old
                .as_deref()
                .map(|c| parse_stored("card UID", c))
                .transpose()?;
            sqlx::query("DELETE FROM cards WHERE student_iin = $1")
                .bind(b.student.expose())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO cards (card_uid, student_iin, school_bin, bound_at, bound_by) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(b.card.to_string())
            .bind(b.student.expose())
            .bind(b.school.to_string())
            .bind(ts(b.at))
            .bind(b.by.to_record())
            .execute(&mut *tx)
            .await?;
            let audit = b.audit(replaced, taken_from);
            insert_audit(&mut tx, &audit).await?;
            student_roster_changed(&mut tx, b.student).await?;
            tx.commit().await?;
            Ok(CardBound::Bound { replaced })
        }

        async fn create_enrollment_code(&self, code: &EnrollmentCode) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO enrollment_codes (code_hash, school_bin, created_at, created_by, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&code.code_hash)
            .bind(code.school.to_string())
            .bind(ts(code.created_at))
            .bind(code.created_by.to_record())
            .bind(ts(code.expires_at))
            .execute(&self.pool)
            .await?;
            Ok(())
        }
    }

    /// The student a card is bound to, with the student's school (where the card's terminals
    /// are).
    async fn card_holder(conn: &mut Conn, card: CardUid) -> Result<Option<(Iin, Bin)>, StoreError> {
        let row = sqlx::query(
            "SELECT c.student_iin, s.school_bin FROM cards c \
             JOIN students s ON s.iin = c.student_iin WHERE c.card_uid = $1",
        )
        .bind(card.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| {
            Ok((
                parse_stored("student IIN", r.try_get("student_iin")?)?,
                parse_stored("school BIN", r.try_get("school_bin")?)?,
            ))
        })
        .transpose()
    }

    /// A card bound at another school moves to `b`'s student: it is unbound from `holder`
    /// with the other school's audit entry, and the holder's roster rows change so that
    /// school's terminals drop the card at their next pull.
    async fn take_over_card(
        conn: &mut Conn,
        b: &CardBinding,
        holder: Iin,
        holder_school: Bin,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cards WHERE card_uid = $1")
            .bind(b.card.to_string())
            .execute(&mut *conn)
            .await?;
        insert_audit(&mut *conn, &b.takeover_audit(holder_school)).await?;
        student_roster_changed(conn, holder).await
    }

    fn meal_from_row(r: &DbRow) -> Result<MealRecord, StoreError> {
        Ok(MealRecord {
            event_id: get_uuid(r, "event_id")?,
            voucher_id: VoucherId::from_uuid(get_uuid(r, "voucher_id")?),
            school: parse_stored("school BIN", r.try_get("school_bin")?)?,
            service_day: get_date(r, "service_day")?,
            slot: r.try_get("slot")?,
            served_at: get_ts(r, "served_at")?,
            method: parse_stored("meal method", r.try_get("method")?)?,
            status: parse_stored("meal status", r.try_get("status")?)?,
            reason: r.try_get("reason")?,
        })
    }

    #[async_trait]
    impl WalletRecordStore for Store {
        async fn meals_of_voucher(
            &self,
            id: VoucherId,
            rep: Iin,
        ) -> Result<Vec<MealRecord>, StoreError> {
            let rows = sqlx::query(
                "SELECT m.event_id, m.voucher_id, m.school_bin, m.service_day, m.slot, m.served_at, \
                 m.method, m.status, m.reason FROM meals m \
                 JOIN vouchers v ON v.id = m.voucher_id AND v.school_bin = m.school_bin \
                 JOIN student_representatives sr ON sr.student_iin = v.student_iin \
                 WHERE m.voucher_id = $1 AND sr.representative_iin = $2 \
                 ORDER BY m.served_at DESC, m.event_id DESC",
            )
            .bind(uuid(id.as_uuid()))
            .bind(rep.expose())
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(meal_from_row).collect()
        }

        async fn add_feedback(
            &self,
            f: &Feedback,
            outbox: Option<&OutboxMessage>,
            limit: &ComplaintLimit,
        ) -> Result<FeedbackStored, StoreError> {
            let mut tx = write(self).await?;
            if f.complaint.is_some() {
                // Counted in the write transaction (SQLite: one writer at a time).
                let made: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM feedback WHERE voucher_id = $1 AND representative_iin = $2 \
                     AND complaint IS NOT NULL AND created_at >= $3",
                )
                .bind(uuid(f.voucher_id.as_uuid()))
                .bind(f.representative.expose())
                .bind(ts(limit.since))
                .fetch_one(&mut *tx)
                .await?;
                if made >= limit.max {
                    return Ok(FeedbackStored::ComplaintLimitReached);
                }
            }
            sqlx::query(
                "INSERT INTO feedback (id, voucher_id, representative_iin, rating, complaint, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(uuid(f.id))
            .bind(uuid(f.voucher_id.as_uuid()))
            .bind(f.representative.expose())
            .bind(SmallInt::from(f.rating))
            .bind(&f.complaint)
            .bind(ts(f.created_at))
            .execute(&mut *tx)
            .await?;
            if let Some(m) = outbox {
                jobs::insert_message(&mut tx, m).await?;
            }
            tx.commit().await?;
            Ok(FeedbackStored::Stored)
        }

        async fn outbox(&self, limit: i64) -> Result<Vec<OutboxMessage>, StoreError> {
            let rows = sqlx::query(
                "SELECT id, kind, recipient, body, state, attempts, created_at, next_attempt_at, sent_at \
                 FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(jobs::message_from_row).collect()
        }
    }
}
