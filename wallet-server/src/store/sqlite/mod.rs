//! The embedded SQLite store: one file, no set-up, what `--demo` and small deployments run.
//!
//! WAL journal with `synchronous=FULL`: a committed write survives a power cut. Writes open
//! with `BEGIN IMMEDIATE` so two writers queue on the lock instead of failing midway.
//! Instants are stored as fixed-width UTC text (`2026-09-01T02:00:00.000000Z`) so that text
//! order is time order.

mod consent;
mod console;
mod eligibility;
mod jobs;
mod meal_push;
mod records;
mod reports;
mod tabel;
mod terminals;
mod vouchers;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use shared::{Bin, Iin, VoucherId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Row;
use time::{Date, OffsetDateTime};

use super::{parse_stored, Backend, Health, PeopleStore, StoreError};
use crate::audit::AuditEntry;
use crate::domain::{Relation, Representative, School, Student};
use crate::vouchers::{Voucher, VoucherView};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const INSTANT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

pub(super) fn ts(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(INSTANT)
        .unwrap_or_default()
}

pub(super) fn parse_ts(s: &str) -> Result<OffsetDateTime, StoreError> {
    time::PrimitiveDateTime::parse(s, INSTANT)
        .map(|t| t.assume_utc())
        .map_err(|_| StoreError::Corrupt("stored instant does not parse".into()))
}

pub(super) fn parse_date(s: &str) -> Result<Date, StoreError> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| StoreError::Corrupt("stored date does not parse".into()))
}

pub(super) fn date(d: Date) -> String {
    d.to_string()
}

/// SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, with owner-only permissions on its
    /// directory, and applies migrations.
    pub async fn open_file(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| {
                StoreError::Database(sqlx::Error::Configuration(
                    format!("cannot create data directory {}: {e}", dir.display()).into(),
                ))
            })?;
        }
        let options = SqliteConnectOptions::new().filename(path);
        Self::with_options(options).await
    }

    /// Opens a `sqlite:` URL (e.g. `sqlite:///var/lib/wallet/wallet.db`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::with_options(SqliteConnectOptions::from_str(url)?).await
    }

    async fn with_options(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    pub(super) async fn write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

pub(super) const VOUCHER_COLUMNS: &str =
    "v.id, v.programme, v.student_iin, v.school_bin, v.state, \
     v.valid_from, v.valid_until, v.formed_at, v.activated_at, v.updated_at";

pub(super) fn voucher_from_row(row: &SqliteRow) -> Result<Voucher, StoreError> {
    let activated_at: Option<String> = row.try_get("activated_at")?;
    Ok(Voucher {
        id: parse_stored("voucher id", row.try_get("id")?)?,
        programme: parse_stored("programme", row.try_get("programme")?)?,
        student: parse_stored("student IIN", row.try_get("student_iin")?)?,
        school: parse_stored("school BIN", row.try_get("school_bin")?)?,
        state: parse_stored("voucher state", row.try_get("state")?)?,
        valid_from: parse_date(row.try_get("valid_from")?)?,
        valid_until: parse_date(row.try_get("valid_until")?)?,
        formed_at: parse_ts(row.try_get("formed_at")?)?,
        activated_at: activated_at.as_deref().map(parse_ts).transpose()?,
        updated_at: parse_ts(row.try_get("updated_at")?)?,
    })
}

/// Voucher columns, the names people recognise a voucher by, the student's card, and the
/// billable meals between two dates (the first two parameters of every query using it).
pub(super) const VIEW_SELECT: &str =
    "SELECT v.id, v.programme, v.student_iin, v.school_bin, v.state, \
     v.valid_from, v.valid_until, v.formed_at, v.activated_at, v.updated_at, \
     s.full_name AS student_name, s.class_label, s.category, sc.name AS school_name, c.card_uid, \
     (SELECT COUNT(*) FROM meals m WHERE m.voucher_id = v.id AND m.status = 'accepted' \
      AND m.service_day BETWEEN ? AND ?) AS meals_this_month \
     FROM vouchers v JOIN students s ON s.iin = v.student_iin \
     JOIN schools sc ON sc.bin = v.school_bin LEFT JOIN cards c ON c.student_iin = v.student_iin";

pub(super) fn view_from_row(row: &SqliteRow) -> Result<VoucherView, StoreError> {
    let card: Option<String> = row.try_get("card_uid")?;
    Ok(VoucherView {
        voucher: voucher_from_row(row)?,
        student_name: row.try_get("student_name")?,
        class_label: row.try_get("class_label")?,
        category: parse_stored("category", row.try_get("category")?)?,
        school_name: row.try_get("school_name")?,
        card: card
            .as_deref()
            .map(|c| parse_stored("card UID", c))
            .transpose()?,
        meals_this_month: row.try_get("meals_this_month")?,
    })
}

pub(super) async fn insert_audit(
    tx: &mut sqlx::SqliteConnection,
    e: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, entity_kind, entity_id, action, from_state, to_state, reason) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(ts(e.at))
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

pub(super) async fn fetch_voucher(
    conn: &mut sqlx::SqliteConnection,
    id: VoucherId,
) -> Result<Option<Voucher>, StoreError> {
    let sql = format!("SELECT {VOUCHER_COLUMNS} FROM vouchers v WHERE v.id = ?");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(voucher_from_row)
        .transpose()
}

#[async_trait]
impl Health for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[async_trait]
impl PeopleStore for SqliteStore {
    async fn upsert_school(&self, school: &School, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schools (bin, name, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (bin) DO UPDATE SET name = excluded.name",
        )
        .bind(school.bin.to_string())
        .bind(&school.name)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn school(&self, bin: Bin) -> Result<Option<School>, StoreError> {
        let row = sqlx::query("SELECT bin, name FROM schools WHERE bin = ?")
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
        upsert_student_with(&self.pool, s, now).await
    }

    async fn student(&self, iin: Iin) -> Result<Option<Student>, StoreError> {
        let row = sqlx::query(
            "SELECT iin, full_name, school_bin, grade, class_label, category FROM students WHERE iin = ?",
        )
        .bind(iin.expose())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let grade: i64 = r.try_get("grade")?;
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
        upsert_representative_with(&self.pool, rep, now).await
    }

    async fn link_representative(
        &self,
        student: Iin,
        rep: Iin,
        relation: Relation,
    ) -> Result<(), StoreError> {
        link_representative_with(&self.pool, student, rep, relation).await
    }

    async fn representatives_of(
        &self,
        student: Iin,
    ) -> Result<Vec<(Representative, Relation)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.iin, r.full_name, r.phone, sr.relation FROM student_representatives sr \
             JOIN representatives r ON r.iin = sr.representative_iin WHERE sr.student_iin = ? \
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
}

/// Takes the next roster number of a school. In a write transaction this also serialises
/// roster changes of the school, so numbers are handed out in commit order.
pub(super) async fn next_roster_seq(
    conn: &mut sqlx::SqliteConnection,
    school: &str,
) -> Result<i64, StoreError> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE schools SET roster_seq = roster_seq + 1 WHERE bin = ? RETURNING roster_seq",
    )
    .bind(school)
    .fetch_one(&mut *conn)
    .await?;
    Ok(seq)
}

/// Marks a voucher as changed for terminals' roster pulls.
pub(super) async fn roster_changed(
    conn: &mut sqlx::SqliteConnection,
    voucher: VoucherId,
) -> Result<(), StoreError> {
    let school: Option<String> = sqlx::query_scalar("SELECT school_bin FROM vouchers WHERE id = ?")
        .bind(voucher.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(school) = school else {
        return Ok(());
    };
    let seq = next_roster_seq(conn, &school).await?;
    sqlx::query("UPDATE vouchers SET roster_seq = ? WHERE id = ?")
        .bind(seq)
        .bind(voucher.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a student's live vouchers as changed (new card, new name or class).
pub(super) async fn student_roster_changed(
    conn: &mut sqlx::SqliteConnection,
    student: Iin,
) -> Result<(), StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM vouchers WHERE student_iin = ? AND state IN ('formed', 'activated')",
    )
    .bind(student.expose())
    .fetch_all(&mut *conn)
    .await?;
    for id in ids {
        roster_changed(conn, parse_stored("voucher id", &id)?).await?;
    }
    Ok(())
}

/// `upsert_student` inside any executor (a pool or an open transaction).
pub(super) async fn upsert_student_with<'c>(
    exec: impl sqlx::SqliteExecutor<'c>,
    s: &Student,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO students (iin, full_name, school_bin, grade, class_label, category, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (iin) DO UPDATE SET full_name = excluded.full_name, \
         school_bin = excluded.school_bin, grade = excluded.grade, \
         class_label = excluded.class_label, category = excluded.category, \
         updated_at = excluded.updated_at",
    )
    .bind(s.iin.expose())
    .bind(&s.full_name)
    .bind(s.school.to_string())
    .bind(i64::from(s.grade))
    .bind(&s.class_label)
    .bind(s.category.as_str())
    .bind(ts(now))
    .execute(exec)
    .await?;
    Ok(())
}

/// `upsert_representative` inside any executor (a pool or an open transaction).
pub(super) async fn upsert_representative_with<'c>(
    exec: impl sqlx::SqliteExecutor<'c>,
    rep: &Representative,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO representatives (iin, full_name, phone, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (iin) DO UPDATE SET full_name = excluded.full_name, \
         phone = COALESCE(excluded.phone, representatives.phone), updated_at = excluded.updated_at",
    )
    .bind(rep.iin.expose())
    .bind(&rep.full_name)
    .bind(&rep.phone)
    .bind(ts(now))
    .execute(exec)
    .await?;
    Ok(())
}

/// `link_representative` inside any executor (a pool or an open transaction).
pub(super) async fn link_representative_with<'c>(
    exec: impl sqlx::SqliteExecutor<'c>,
    student: Iin,
    rep: Iin,
    relation: Relation,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO student_representatives (student_iin, representative_iin, relation) \
         VALUES (?, ?, ?) ON CONFLICT (student_iin, representative_iin) \
         DO UPDATE SET relation = excluded.relation",
    )
    .bind(student.expose())
    .bind(rep.expose())
    .bind(relation.as_str())
    .execute(exec)
    .await?;
    Ok(())
}
