//! SQLite: consent conversations. A move of a conversation is one write transaction with
//! everything that goes with it: the SMS into the outbox, the next job, the voucher and the
//! list entries it satisfies, the audit entry.

use async_trait::async_trait;
use shared::time::YearMonth;
use shared::Bin;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::jobs::{insert_job, insert_message};
use super::vouchers::form_in;
use super::{date, insert_audit, parse_date, parse_ts, ts, SqliteStore};
use crate::audit::AuditEntry;
use crate::consent::ConsentState;
use crate::store::{
    parse_stored, ConsentRequest, ConsentStarted, ConsentStore, ConsentTransition, NewConsent,
    StoreError,
};
use crate::vouchers::{NewVoucher, SchoolYear};

type Conn = sqlx::SqliteConnection;

const SELECT: &str = "SELECT c.id, c.programme, c.student_iin, s.full_name AS student_name, \
     c.school_bin, c.period_from, c.period_until, c.representative_iin, \
     r.full_name AS parent_name, c.phone, c.language, c.state, c.reason, c.created_at, \
     c.updated_at, c.reminded_at, c.finished_at, c.voucher_id \
     FROM consent_requests c JOIN students s ON s.iin = c.student_iin \
     LEFT JOIN representatives r ON r.iin = c.representative_iin";

fn from_row(r: &SqliteRow) -> Result<ConsentRequest, StoreError> {
    let opt = |column: &str| -> Result<Option<String>, StoreError> { Ok(r.try_get(column)?) };
    let instant = |column: &str| -> Result<Option<time::OffsetDateTime>, StoreError> {
        opt(column)?.as_deref().map(parse_ts).transpose()
    };
    Ok(ConsentRequest {
        id: parse_stored("consent id", r.try_get("id")?)?,
        programme: parse_stored("programme", r.try_get("programme")?)?,
        student: parse_stored("student IIN", r.try_get("student_iin")?)?,
        student_name: r.try_get("student_name")?,
        school: parse_stored("school BIN", r.try_get("school_bin")?)?,
        period: SchoolYear {
            first_day: parse_date(r.try_get("period_from")?)?,
            last_day: parse_date(r.try_get("period_until")?)?,
        },
        representative: opt("representative_iin")?
            .map(|s| parse_stored("representative IIN", &s))
            .transpose()?,
        parent_name: opt("parent_name")?,
        phone: opt("phone")?,
        language: parse_stored("language", r.try_get("language")?)?,
        state: parse_stored("consent state", r.try_get("state")?)?,
        reason: opt("reason")?,
        created_at: parse_ts(r.try_get("created_at")?)?,
        updated_at: parse_ts(r.try_get("updated_at")?)?,
        reminded_at: instant("reminded_at")?,
        finished_at: instant("finished_at")?,
        voucher: opt("voucher_id")?
            .map(|s| parse_stored("voucher id", &s))
            .transpose()?,
    })
}

async fn fetch(conn: &mut Conn, id: &str) -> Result<Option<ConsentRequest>, StoreError> {
    let sql = format!("{SELECT} WHERE c.id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Forms (or finds) the voucher of an agreed request and links the request and the
/// student's list entries of the school year that wait for consent.
async fn form_and_link(
    conn: &mut Conn,
    consent: &str,
    voucher: &NewVoucher,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let id = form_in(conn, voucher, audit).await?.voucher().id;
    let at = ts(voucher.formed_at);
    sqlx::query("UPDATE consent_requests SET voucher_id = ? WHERE id = ?")
        .bind(id.to_string())
        .bind(consent)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE eligibility_entries SET status = 'voucher_formed', voucher_id = ?, updated_at = ? \
         WHERE programme = ? AND student_iin = ? AND status = 'awaiting_consent' \
         AND period BETWEEN ? AND ?",
    )
    .bind(id.to_string())
    .bind(&at)
    .bind(voucher.programme.as_str())
    .bind(voucher.student.expose())
    .bind(YearMonth::of(voucher.period.first_day).to_string())
    .bind(YearMonth::of(voucher.period.last_day).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The existing request that stands for this one, if any.
async fn existing(conn: &mut Conn, n: &NewConsent) -> Result<Option<String>, StoreError> {
    let live: Option<String> = sqlx::query_scalar(
        "SELECT id FROM consent_requests WHERE programme = ? AND student_iin = ? \
         AND period_from = ? AND state <> 'no_phone'",
    )
    .bind(n.programme.as_str())
    .bind(n.student.expose())
    .bind(date(n.period.first_day))
    .fetch_optional(&mut *conn)
    .await?;
    if live.is_some() || n.contact.is_some() {
        return Ok(live);
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM consent_requests WHERE programme = ? AND student_iin = ? \
         AND period_from = ? AND state = 'no_phone' ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(n.programme.as_str())
    .bind(n.student.expose())
    .bind(date(n.period.first_day))
    .fetch_optional(&mut *conn)
    .await?)
}

async fn start_one(conn: &mut Conn, n: &NewConsent) -> Result<ConsentStarted, StoreError> {
    if let Some(id) = existing(conn, n).await? {
        let request = fetch(conn, &id).await?.ok_or(StoreError::NotFound)?;
        if request.state != ConsentState::Agreed {
            return Ok(ConsentStarted {
                request,
                new: false,
            });
        }
        form_and_link(conn, &id, &n.voucher, &n.voucher_audit).await?;
        let request = fetch(conn, &id).await?.ok_or(StoreError::NotFound)?;
        return Ok(ConsentStarted {
            request,
            new: false,
        });
    }
    let state = match n.contact {
        Some(_) => ConsentState::Pending,
        None => ConsentState::NoPhone,
    };
    let at = ts(n.at);
    sqlx::query(
        "INSERT INTO consent_requests (id, programme, student_iin, school_bin, period_from, \
         period_until, representative_iin, phone, language, state, reason, created_at, \
         updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(n.id.to_string())
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
    .bind(&at)
    .bind(&at)
    .bind((state == ConsentState::NoPhone).then(|| at.clone()))
    .execute(&mut *conn)
    .await?;
    if let Some(sms) = &n.sms {
        insert_message(conn, sms).await?;
    }
    if let Some(job) = &n.job {
        insert_job(conn, job).await?;
    }
    insert_audit(conn, &n.audit).await?;
    let request = fetch(conn, &n.id.to_string())
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(ConsentStarted { request, new: true })
}

#[async_trait]
impl ConsentStore for SqliteStore {
    async fn start_consents(&self, new: &[NewConsent]) -> Result<Vec<ConsentStarted>, StoreError> {
        let mut tx = self.write().await?;
        let mut started = Vec::with_capacity(new.len());
        for n in new {
            started.push(start_one(&mut tx, n).await?);
        }
        tx.commit().await?;
        Ok(started)
    }

    async fn consent_request(&self, id: Uuid) -> Result<Option<ConsentRequest>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch(&mut conn, &id.to_string()).await
    }

    async fn open_consent_for_phone(
        &self,
        phone: &str,
    ) -> Result<Option<ConsentRequest>, StoreError> {
        let sql = format!(
            "{SELECT} WHERE c.phone = ? AND c.state IN ('pending', 'reminded') \
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
        let id = t.id.to_string();
        let at = ts(t.at);
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE consent_requests SET state = ?, updated_at = ?, reason = COALESCE(?, reason), \
             reminded_at = CASE WHEN ? THEN ? ELSE reminded_at END, \
             finished_at = CASE WHEN ? THEN ? ELSE finished_at END \
             WHERE id = ? AND state = ?",
        )
        .bind(t.to.as_str())
        .bind(&at)
        .bind(&t.reason)
        .bind(t.to == ConsentState::Reminded && t.from == ConsentState::Pending)
        .bind(&at)
        .bind(!t.to.is_open())
        .bind(&at)
        .bind(&id)
        .bind(t.from.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let current = fetch(&mut tx, &id).await?.ok_or(StoreError::NotFound)?;
            return Err(StoreError::Conflict {
                current: current.state.to_string(),
            });
        }
        if let Some((voucher, audit)) = &t.voucher {
            form_and_link(&mut tx, &id, voucher, audit).await?;
        }
        if let Some(sms) = &t.sms {
            insert_message(&mut tx, sms).await?;
        }
        if let Some(job) = &t.job {
            insert_job(&mut tx, job).await?;
        }
        insert_audit(&mut tx, &t.audit).await?;
        let request = fetch(&mut tx, &id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(request)
    }

    async fn consent_requests(&self, limit: i64) -> Result<Vec<ConsentRequest>, StoreError> {
        let sql = format!("{SELECT} ORDER BY c.created_at DESC, c.id DESC LIMIT ?");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    async fn consents_of_school(&self, school: Bin) -> Result<Vec<ConsentRequest>, StoreError> {
        let sql = format!("{SELECT} WHERE c.school_bin = ? ORDER BY c.created_at DESC, c.id DESC");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
