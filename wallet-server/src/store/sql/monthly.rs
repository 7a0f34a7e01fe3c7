//! Monthly programmes (gas): norms, recipients, vouchers per recipient and month, the
//! activation on a personal account and the handover. "One activated voucher per key and
//! month" is the unique index `programme_vouchers_one_per_key`: of two concurrent
//! activations of one account the second insert into it fails, on both backends.

use async_trait::async_trait;
use shared::time::YearMonth;
use shared::{Iin, VoucherId};
use sqlx::Row as _;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::audit::AuditEntry;
use crate::domain::gas::{Discount, Norm, Region};
use crate::domain::monthly_records::{
    Activated, ActivatedVoucher, Activation, Handover, MonthlyVoucher, NewRecipient, Recipient,
    RecipientMove,
};
use crate::domain::Programme;
use crate::store::{parse_stored, MonthlyStore, StoreError};

super::per_backend! {
    use jobs::{insert_job, insert_message};

    const RECIPIENT: &str = "SELECT consent_id, programme, iin, month, region, full_name, phone, \
         language, state, created_at, asked_at, voucher_id FROM programme_recipients";
    const VOUCHER: &str = "SELECT id, programme, iin, month, region, state, valid_until, account, \
         activated_at, volume_m3, norm_m3, benefit_tiyn_per_m3, discount_tiyn \
         FROM programme_vouchers";

    fn recipient_from_row(r: &DbRow) -> Result<Recipient, StoreError> {
        let voucher: Option<StoredUuid> = r.try_get("voucher_id")?;
        Ok(Recipient {
            consent_id: get_uuid(r, "consent_id")?,
            programme: parse_stored("programme", r.try_get("programme")?)?,
            iin: parse_stored("IIN", r.try_get("iin")?)?,
            month: parse_stored("month", r.try_get("month")?)?,
            region: parse_stored("region", r.try_get("region")?)?,
            full_name: r.try_get("full_name")?,
            phone: r.try_get("phone")?,
            language: parse_stored("language", r.try_get("language")?)?,
            state: parse_stored("consent state", r.try_get("state")?)?,
            created_at: get_ts(r, "created_at")?,
            asked_at: get_ts(r, "asked_at")?,
            voucher: voucher.map(parse_uuid).transpose()?.map(VoucherId::from_uuid),
        })
    }

    fn voucher_from_row(r: &DbRow) -> Result<MonthlyVoucher, StoreError> {
        let discount = match r.try_get::<Option<i64>, _>("discount_tiyn")? {
            Some(discount_tiyn) => Some(Discount {
                volume_m3: r.try_get::<Option<f64>, _>("volume_m3")?.unwrap_or_default(),
                norm_m3: r.try_get::<Option<f64>, _>("norm_m3")?.unwrap_or_default(),
                benefit_tiyn_per_m3: r
                    .try_get::<Option<i64>, _>("benefit_tiyn_per_m3")?
                    .unwrap_or_default(),
                discount_tiyn,
            }),
            None => None,
        };
        Ok(MonthlyVoucher {
            id: VoucherId::from_uuid(get_uuid(r, "id")?),
            programme: parse_stored("programme", r.try_get("programme")?)?,
            iin: parse_stored("IIN", r.try_get("iin")?)?,
            month: parse_stored("month", r.try_get("month")?)?,
            region: parse_stored("region", r.try_get("region")?)?,
            state: parse_stored("voucher state", r.try_get("state")?)?,
            valid_until: get_date(r, "valid_until")?,
            key: r.try_get("account")?,
            activated_at: get_opt_ts(r, "activated_at")?,
            discount,
        })
    }

    async fn fetch_recipient(conn: &mut Conn, id: Uuid) -> Result<Option<Recipient>, StoreError> {
        let sql = format!("{RECIPIENT} WHERE consent_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid(id))
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(recipient_from_row).transpose()
    }

    async fn fetch_voucher_by_id(conn: &mut Conn, id: VoucherId) -> Result<Option<MonthlyVoucher>, StoreError> {
        let sql = format!("{VOUCHER} WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid(id.as_uuid()))
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(voucher_from_row).transpose()
    }

    async fn insert_recipient(conn: &mut Conn, r: &Recipient, at: OffsetDateTime) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO programme_recipients (consent_id, programme, iin, month, region, \
             full_name, phone, language, state, created_at, asked_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10) \
             ON CONFLICT (programme, iin, month) DO NOTHING",
        )
        .bind(uuid(r.consent_id))
        .bind(r.programme.as_str())
        .bind(r.iin.expose())
        .bind(r.month.to_string())
        .bind(r.region.as_str())
        .bind(&r.full_name)
        .bind(&r.phone)
        .bind(r.language.as_str())
        .bind(r.state.as_str())
        .bind(ts(at))
        .bind(ts(r.asked_at))
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn recipient_of_month(conn: &mut Conn, r: &Recipient) -> Result<Recipient, StoreError> {
        let sql = format!("{RECIPIENT} WHERE programme = $1 AND iin = $2 AND month = $3");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(r.programme.as_str())
            .bind(r.iin.expose())
            .bind(r.month.to_string())
            .fetch_one(&mut *conn)
            .await?;
        recipient_from_row(&row)
    }

    /// Forms the recipient's voucher of the month (once) and links it to the conversation.
    async fn form_voucher(
        conn: &mut Conn,
        r: &Recipient,
        v: &crate::domain::monthly_records::NewMonthlyVoucher,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO programme_vouchers (id, programme, iin, month, region, state, \
             valid_until, formed_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'formed', $6, $7, $7) \
             ON CONFLICT (programme, iin, month) DO NOTHING",
        )
        .bind(uuid(v.id.as_uuid()))
        .bind(r.programme.as_str())
        .bind(r.iin.expose())
        .bind(r.month.to_string())
        .bind(r.region.as_str())
        .bind(date(v.valid_until))
        .bind(ts(at))
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE programme_recipients SET voucher_id = (SELECT id FROM programme_vouchers \
             WHERE programme = $1 AND iin = $2 AND month = $3) WHERE consent_id = $4",
        )
        .bind(r.programme.as_str())
        .bind(r.iin.expose())
        .bind(r.month.to_string())
        .bind(uuid(r.consent_id))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    #[async_trait]
    impl MonthlyStore for Store {
        async fn put_norm(&self, programme: Programme, region: Region, norm: Norm, audit: &AuditEntry) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            sqlx::query(
                "INSERT INTO programme_norms (programme, region, norm_m3, benefit_tiyn_per_m3, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (programme, region) DO UPDATE SET \
                 norm_m3 = excluded.norm_m3, benefit_tiyn_per_m3 = excluded.benefit_tiyn_per_m3, \
                 updated_at = excluded.updated_at",
            )
            .bind(programme.as_str())
            .bind(region.as_str())
            .bind(norm.norm_m3)
            .bind(norm.benefit_tiyn_per_m3)
            .bind(ts(audit.at))
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn norm(&self, programme: Programme, region: Region) -> Result<Option<Norm>, StoreError> {
            let row = sqlx::query(
                "SELECT norm_m3, benefit_tiyn_per_m3 FROM programme_norms WHERE programme = $1 AND region = $2",
            )
            .bind(programme.as_str())
            .bind(region.as_str())
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                Ok(Norm {
                    norm_m3: r.try_get("norm_m3")?,
                    benefit_tiyn_per_m3: r.try_get("benefit_tiyn_per_m3")?,
                })
            })
            .transpose()
        }

        async fn add_recipients(&self, new: &[NewRecipient]) -> Result<Vec<(bool, Recipient)>, StoreError> {
            let mut tx = write(self).await?;
            let mut out = Vec::with_capacity(new.len());
            for n in new {
                let fresh = insert_recipient(&mut tx, &n.recipient, n.recipient.created_at).await?;
                if fresh {
                    if let Some(sms) = &n.sms {
                        insert_message(&mut tx, sms).await?;
                    }
                    if let Some(job) = &n.job {
                        insert_job(&mut tx, job).await?;
                    }
                    insert_audit(&mut tx, &n.audit).await?;
                }
                out.push((fresh, recipient_of_month(&mut tx, &n.recipient).await?));
            }
            tx.commit().await?;
            Ok(out)
        }

        async fn recipient(&self, consent_id: Uuid) -> Result<Option<Recipient>, StoreError> {
            let mut conn = self.pool.acquire().await?;
            fetch_recipient(&mut conn, consent_id).await
        }

        async fn open_recipient_for_phone(&self, phone: &str) -> Result<Option<Recipient>, StoreError> {
            let sql = format!(
                "{RECIPIENT} WHERE phone = $1 AND state IN ('pending', 'reminded') \
                 ORDER BY created_at, consent_id LIMIT 1"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(phone)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(recipient_from_row).transpose()
        }

        async fn move_recipient(&self, m: &RecipientMove) -> Result<Recipient, StoreError> {
            let mut tx = write(self).await?;
            let changed = sqlx::query(
                "UPDATE programme_recipients SET state = $1, updated_at = $2 \
                 WHERE consent_id = $3 AND state = $4",
            )
            .bind(m.to.as_str())
            .bind(ts(m.at))
            .bind(uuid(m.consent_id))
            .bind(m.from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let Some(current) = fetch_recipient(&mut tx, m.consent_id).await? else {
                return Err(StoreError::NotFound);
            };
            if changed == 0 && m.from != m.to {
                return Err(StoreError::Conflict { current: current.state.to_string() });
            }
            if let Some(v) = &m.voucher {
                form_voucher(&mut tx, &current, v, m.at).await?;
            }
            if let Some(sms) = &m.sms {
                insert_message(&mut tx, sms).await?;
            }
            if let Some(job) = &m.job {
                insert_job(&mut tx, job).await?;
            }
            for a in &m.audit {
                insert_audit(&mut tx, a).await?;
            }
            let done = fetch_recipient(&mut tx, m.consent_id).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await?;
            Ok(done)
        }

        async fn monthly_vouchers_of(&self, iin: Iin) -> Result<Vec<MonthlyVoucher>, StoreError> {
            let sql = format!("{VOUCHER} WHERE iin = $1 ORDER BY month DESC, programme");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(iin.expose())
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(voucher_from_row).collect()
        }

        async fn monthly_voucher(&self, id: VoucherId) -> Result<Option<MonthlyVoucher>, StoreError> {
            let mut conn = self.pool.acquire().await?;
            fetch_voucher_by_id(&mut conn, id).await
        }

        async fn monthly_voucher_for(&self, programme: Programme, iin: Iin, month: YearMonth) -> Result<Option<MonthlyVoucher>, StoreError> {
            let sql = format!("{VOUCHER} WHERE programme = $1 AND iin = $2 AND month = $3");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(programme.as_str())
                .bind(iin.expose())
                .bind(month.to_string())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(voucher_from_row).transpose()
        }

        async fn key_taken(&self, programme: Programme, month: YearMonth, key: &str) -> Result<bool, StoreError> {
            let row = sqlx::query(
                "SELECT 1 AS one FROM programme_vouchers WHERE programme = $1 AND month = $2 \
                 AND account = $3 AND state = 'activated'",
            )
            .bind(programme.as_str())
            .bind(month.to_string())
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.is_some())
        }

        async fn activate_on_key(&self, a: &Activation) -> Result<Activated, StoreError> {
            let mut tx = write(self).await?;
            let updated = sqlx::query(
                "UPDATE programme_vouchers SET state = 'activated', account = $1, \
                 activated_at = $2, updated_at = $2 WHERE id = $3 AND state = 'formed'",
            )
            .bind(&a.key)
            .bind(ts(a.at))
            .bind(uuid(a.voucher.as_uuid()))
            .execute(&mut *tx)
            .await;
            match updated {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(Activated::KeyTaken),
                Err(e) => return Err(e.into()),
                Ok(done) if done.rows_affected() == 0 => {
                    let current = fetch_voucher_by_id(&mut tx, a.voucher).await?.ok_or(StoreError::NotFound)?;
                    return Ok(Activated::NotFormed(current.state));
                }
                Ok(_) => {}
            }
            insert_audit(&mut tx, &a.audit).await?;
            let v = fetch_voucher_by_id(&mut tx, a.voucher).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await?;
            Ok(Activated::Done(v))
        }

        async fn activations(&self, programme: Programme, month: YearMonth) -> Result<Vec<ActivatedVoucher>, StoreError> {
            let rows = sqlx::query(
                "SELECT id, account FROM programme_vouchers WHERE programme = $1 AND month = $2 \
                 AND state = 'activated' ORDER BY activated_at, id",
            )
            .bind(programme.as_str())
            .bind(month.to_string())
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ActivatedVoucher {
                        voucher_id: get_uuid(r, "id")?.to_string(),
                        personal_account: r.try_get::<Option<String>, _>("account")?.unwrap_or_default(),
                    })
                })
                .collect()
        }

        async fn hand_over(&self, h: &Handover) -> Result<bool, StoreError> {
            let mut tx = write(self).await?;
            sqlx::query(
                "UPDATE programme_vouchers SET state = 'expired', updated_at = $1 \
                 WHERE programme = $2 AND month = $3 AND state = 'formed'",
            )
            .bind(ts(h.at))
            .bind(h.programme.as_str())
            .bind(h.month.to_string())
            .execute(&mut *tx)
            .await?;
            let queued = sqlx::query("SELECT 1 AS one FROM outbox WHERE id = $1")
                .bind(uuid(h.message.id))
                .fetch_optional(&mut *tx)
                .await?
                .is_none();
            if queued {
                insert_message(&mut tx, &h.message).await?;
                insert_audit(&mut tx, &h.audit).await?;
            }
            tx.commit().await?;
            Ok(queued)
        }

        async fn save_discount(&self, voucher: VoucherId, d: &Discount, at: OffsetDateTime, audit: &AuditEntry) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            let changed = sqlx::query(
                "UPDATE programme_vouchers SET volume_m3 = $1, norm_m3 = $2, \
                 benefit_tiyn_per_m3 = $3, discount_tiyn = $4, updated_at = $5 \
                 WHERE id = $6 AND state = 'activated'",
            )
            .bind(d.volume_m3)
            .bind(d.norm_m3)
            .bind(d.benefit_tiyn_per_m3)
            .bind(d.discount_tiyn)
            .bind(ts(at))
            .bind(uuid(voucher.as_uuid()))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
