//! The PostgreSQL store: what production runs. Same behaviour as the SQLite store (the
//! store story test runs against both); native types (`uuid`, `date`, `timestamptz`).
//!
//! Writes that must see a consistent row use `SELECT … FOR UPDATE` or a conditional UPDATE,
//! so concurrent servers never lose an update or double a transition.

use async_trait::async_trait;
use shared::{Bin, Iin, VoucherId};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::Row;
use time::OffsetDateTime;

use super::{parse_stored, Backend, Formed, Store, StoreError};
use crate::audit::{AuditEntry, AuditRecord};
use crate::domain::{Relation, Representative, School, Student};
use crate::vouchers::{NewVoucher, Voucher, VoucherState, VoucherView};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore { pool })
    }
}

const VOUCHER_COLUMNS: &str = "v.id, v.programme, v.student_iin, v.school_bin, v.state, \
     v.valid_from, v.valid_until, v.formed_at, v.activated_at, v.updated_at";

fn voucher_from_row(row: &PgRow) -> Result<Voucher, StoreError> {
    Ok(Voucher {
        id: VoucherId::from_uuid(row.try_get("id")?),
        programme: parse_stored("programme", row.try_get("programme")?)?,
        student: parse_stored("student IIN", row.try_get("student_iin")?)?,
        school: parse_stored("school BIN", row.try_get("school_bin")?)?,
        state: parse_stored("voucher state", row.try_get("state")?)?,
        valid_from: row.try_get("valid_from")?,
        valid_until: row.try_get("valid_until")?,
        formed_at: row.try_get("formed_at")?,
        activated_at: row.try_get("activated_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn view_from_row(row: &PgRow) -> Result<VoucherView, StoreError> {
    Ok(VoucherView {
        voucher: voucher_from_row(row)?,
        student_name: row.try_get("student_name")?,
        class_label: row.try_get("class_label")?,
        school_name: row.try_get("school_name")?,
    })
}

async fn insert_audit(tx: &mut sqlx::PgConnection, e: &AuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, entity_kind, entity_id, action, from_state, to_state, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.at)
    .bind(e.actor.to_record())
    .bind(e.entity_kind)
    .bind(&e.entity_id)
    .bind(&e.action)
    .bind(&e.from_state)
    .bind(&e.to_state)
    .bind(&e.reason)
    .execute(tx)
    .await?;
    Ok(())
}

async fn fetch_voucher(
    conn: &mut sqlx::PgConnection,
    id: VoucherId,
) -> Result<Option<Voucher>, StoreError> {
    let sql = format!("SELECT {VOUCHER_COLUMNS} FROM vouchers v WHERE v.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(voucher_from_row)
        .transpose()
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn upsert_school(&self, school: &School, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schools (bin, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (bin) DO UPDATE SET name = excluded.name",
        )
        .bind(school.bin.to_string())
        .bind(&school.name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn school(&self, bin: Bin) -> Result<Option<School>, StoreError> {
        let row = sqlx::query("SELECT bin, name FROM schools WHERE bin = $1")
            .bind(bin.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(School {
                bin: parse_stored("school BIN", r.try_get("bin")?)?,
                name: r.try_get("name")?,
            })
        })
        .transpose()
    }

    async fn upsert_student(&self, s: &Student, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO students (iin, full_name, school_bin, grade, class_label, category, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (iin) DO UPDATE SET full_name = excluded.full_name, \
             school_bin = excluded.school_bin, grade = excluded.grade, \
             class_label = excluded.class_label, category = excluded.category, \
             updated_at = excluded.updated_at",
        )
        .bind(s.iin.expose())
        .bind(&s.full_name)
        .bind(s.school.to_string())
        .bind(i16::from(s.grade))
        .bind(&s.class_label)
        .bind(s.category.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn student(&self, iin: Iin) -> Result<Option<Student>, StoreError> {
        let row = sqlx::query(
            "SELECT iin, full_name, school_bin, grade, class_label, category FROM students WHERE iin = $1",
        )
        .bind(iin.expose())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let grade: i16 = r.try_get("grade")?;
            Ok(Student {
                iin: parse_stored("student IIN", r.try_get("iin")?)?,
                full_name: r.try_get("full_name")?,
                school: parse_stored("school BIN", r.try_get("school_bin")?)?,
                grade: u8::try_from(grade)
                    .map_err(|_| StoreError::Corrupt("stored grade out of range".into()))?,
                class_label: r.try_get("class_label")?,
                category: parse_stored("category", r.try_get("category")?)?,
            })
        })
        .transpose()
    }

    async fn upsert_representative(
        &self,
        rep: &Representative,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO representatives (iin, full_name, phone, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (iin) DO UPDATE SET full_name = excluded.full_name, \
             phone = COALESCE(excluded.phone, representatives.phone), updated_at = excluded.updated_at",
        )
        .bind(rep.iin.expose())
        .bind(&rep.full_name)
        .bind(&rep.phone)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn link_representative(
        &self,
        student: Iin,
        rep: Iin,
        relation: Relation,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO student_representatives (student_iin, representative_iin, relation) \
             VALUES ($1, $2, $3) ON CONFLICT (student_iin, representative_iin) \
             DO UPDATE SET relation = excluded.relation",
        )
        .bind(student.expose())
        .bind(rep.expose())
        .bind(relation.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn representatives_of(
        &self,
        student: Iin,
    ) -> Result<Vec<(Representative, Relation)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.iin, r.full_name, r.phone, sr.relation FROM student_representatives sr \
             JOIN representatives r ON r.iin = sr.representative_iin WHERE sr.student_iin = $1 \
             ORDER BY CASE sr.relation WHEN 'mother' THEN 0 WHEN 'father' THEN 1 ELSE 2 END, r.full_name",
        )
        .bind(student.expose())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let rep = Representative {
                    iin: parse_stored("representative IIN", r.try_get("iin")?)?,
                    full_name: r.try_get("full_name")?,
                    phone: r.try_get("phone")?,
                };
                Ok((rep, parse_stored("relation", r.try_get("relation")?)?))
            })
            .collect()
    }

    async fn form_voucher(&self, v: &NewVoucher, audit: &AuditEntry) -> Result<Formed, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO vouchers (id, programme, student_iin, school_bin, state, valid_from, \
             valid_until, formed_at, updated_at) VALUES ($1, $2, $3, $4, 'formed', $5, $6, $7, $8) \
             ON CONFLICT (programme, student_iin, valid_from) \
             WHERE state IN ('formed', 'activated') DO NOTHING",
        )
        .bind(v.id.as_uuid())
        .bind(v.programme.as_str())
        .bind(v.student.expose())
        .bind(v.school.to_string())
        .bind(v.period.first_day)
        .bind(v.period.last_day)
        .bind(v.formed_at)
        .bind(v.formed_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let outcome = if inserted == 1 {
            insert_audit(&mut tx, audit).await?;
            Formed::New(
                fetch_voucher(&mut tx, v.id)
                    .await?
                    .ok_or(StoreError::NotFound)?,
            )
        } else {
            let sql = format!(
                "SELECT {VOUCHER_COLUMNS} FROM vouchers v WHERE v.programme = $1 AND v.student_iin = $2 \
                 AND v.valid_from = $3 AND v.state IN ('formed', 'activated')"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(v.programme.as_str())
                .bind(v.student.expose())
                .bind(v.period.first_day)
                .fetch_one(&mut *tx)
                .await?;
            Formed::Existing(voucher_from_row(&row)?)
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn voucher(&self, id: VoucherId) -> Result<Option<Voucher>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_voucher(&mut conn, id).await
    }

    async fn transition_voucher(
        &self,
        id: VoucherId,
        from: VoucherState,
        to: VoucherState,
        audit: &AuditEntry,
    ) -> Result<Voucher, StoreError> {
        let mut tx = self.pool.begin().await?;
        let at = audit.at;
        let changed = sqlx::query(
            "UPDATE vouchers SET state = $1, updated_at = $2, \
             activated_at = CASE WHEN $3 = 'activated' THEN $4 ELSE activated_at END \
             WHERE id = $5 AND state = $6",
        )
        .bind(to.as_str())
        .bind(at)
        .bind(to.as_str())
        .bind(at)
        .bind(id.as_uuid())
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let current = fetch_voucher(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if changed == 0 {
            return Err(StoreError::Conflict {
                current: current.state.to_string(),
            });
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(current)
    }

    async fn vouchers_of_representative(&self, rep: Iin) -> Result<Vec<VoucherView>, StoreError> {
        let sql = format!(
            "SELECT {VOUCHER_COLUMNS}, s.full_name AS student_name, s.class_label, \
             sc.name AS school_name FROM vouchers v \
             JOIN student_representatives sr ON sr.student_iin = v.student_iin \
             JOIN students s ON s.iin = v.student_iin JOIN schools sc ON sc.bin = v.school_bin \
             WHERE sr.representative_iin = $1 ORDER BY v.formed_at DESC, v.id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rep.expose())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(view_from_row).collect()
    }

    async fn vouchers_of_school(&self, school: Bin) -> Result<Vec<VoucherView>, StoreError> {
        let sql = format!(
            "SELECT {VOUCHER_COLUMNS}, s.full_name AS student_name, s.class_label, \
             sc.name AS school_name FROM vouchers v \
             JOIN students s ON s.iin = v.student_iin JOIN schools sc ON sc.bin = v.school_bin \
             WHERE v.school_bin = $1 ORDER BY s.class_label, s.full_name, v.formed_at"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
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
                    at: r.try_get("at")?,
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
