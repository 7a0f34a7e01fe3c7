//! What every query module shares: schools, students and representatives
//! ([`PeopleStore`]), the store's health, the voucher row and its view, the audit log, and
//! the roster numbers terminals pull by.

use async_trait::async_trait;
use shared::{Bin, Iin, VoucherId};
use sqlx::Row as _;
use time::OffsetDateTime;

use crate::domain::audit::AuditEntry;
use crate::domain::voucher::{Voucher, VoucherView};
use crate::domain::{Relation, Representative, School, Student};
use crate::store::{parse_stored, Backend, Health, PeopleStore, StoreError};

super::per_backend! {
    pub(in crate::store) const VOUCHER_COLUMNS: &str =
        "v.id, v.programme, v.student_iin, v.school_bin, v.state, \
         v.valid_from, v.valid_until, v.formed_at, v.activated_at, v.updated_at";

    pub(in crate::store) fn voucher_from_row(row: &DbRow) -> Result<Voucher, StoreError> {
        Ok(Voucher {
            id: VoucherId::from_uuid(get_uuid(row, "id")?),
            programme: parse_stored("programme", row.try_get("programme")?)?,
            student: parse_stored("student IIN", row.try_get("student_iin")?)?,
            school: parse_stored("school BIN", row.try_get("school_bin")?)?,
            state: parse_stored("voucher state", row.try_get("state")?)?,
            valid_from: get_date(row, "valid_from")?,
            valid_until: get_date(row, "valid_until")?,
            formed_at: get_ts(row, "formed_at")?,
            activated_at: get_opt_ts(row, "activated_at")?,
            updated_at: get_ts(row, "updated_at")?,
        })
    }

    /// Voucher columns, the names people recognise a voucher by, the student's card, and the
    /// billable meals between two dates (the first two parameters of every query using it).
    pub(in crate::store) const VIEW_SELECT: &str =
        "SELECT v.id, v.programme, v.student_iin, v.school_bin, v.state, \
         v.valid_from, v.valid_until, v.formed_at, v.activated_at, v.updated_at, \
         s.full_name AS student_name, s.class_label, s.category, sc.name AS school_name, c.card_uid, \
         (SELECT COUNT(*) FROM meals m WHERE m.voucher_id = v.id AND m.status = 'accepted' \
          AND m.service_day BETWEEN $1 AND $2) AS meals_this_month, \
         (SELECT n.school_bin FROM vouchers n WHERE v.state = 'revoked' AND n.programme = v.programme \
          AND n.student_iin = v.student_iin AND n.valid_from = v.valid_from \
          AND n.school_bin <> v.school_bin AND n.formed_at >= v.updated_at \
          ORDER BY n.formed_at LIMIT 1) AS moved_to, \
         (SELECT o.school_bin FROM vouchers o WHERE o.state = 'revoked' AND o.programme = v.programme \
          AND o.student_iin = v.student_iin AND o.valid_from = v.valid_from \
          AND o.school_bin <> v.school_bin AND o.updated_at <= v.formed_at \
          ORDER BY o.updated_at DESC LIMIT 1) AS moved_from \
         FROM vouchers v JOIN students s ON s.iin = v.student_iin \
         JOIN schools sc ON sc.bin = v.school_bin LEFT JOIN cards c ON c.student_iin = v.student_iin";

    pub(in crate::store) fn view_from_row(row: &DbRow) -> Result<VoucherView, StoreError> {
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
            moved_to: parse_opt_bin(row, "moved_to")?,
            moved_from: parse_opt_bin(row, "moved_from")?,
        })
    }

    fn parse_opt_bin(row: &DbRow, col: &str) -> Result<Option<shared::Bin>, StoreError> {
        let bin: Option<String> = row.try_get(col)?;
        bin.as_deref().map(|b| parse_stored("school BIN", b)).transpose()
    }

    pub(in crate::store) async fn insert_audit(
        tx: &mut Conn,
        e: &AuditEntry,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, entity_kind, entity_id, action, from_state, to_state, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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

    /// How a student row is updated when it exists (one rule for one row and for a list).
    pub(in crate::store) const STUDENT_UPSERT: &str = " ON CONFLICT (iin) DO UPDATE SET \
         full_name = excluded.full_name, school_bin = excluded.school_bin, grade = excluded.grade, \
         class_label = excluded.class_label, category = excluded.category, \
         updated_at = excluded.updated_at";

    /// How a representative is updated: a phone already known stays when none is given.
    pub(in crate::store) const REPRESENTATIVE_UPSERT: &str = " ON CONFLICT (iin) DO UPDATE SET \
         full_name = excluded.full_name, phone = COALESCE(excluded.phone, representatives.phone), \
         updated_at = excluded.updated_at";

    /// How a student's link to a representative is updated: the relation is the latest.
    pub(in crate::store) const LINK_UPSERT: &str = " ON CONFLICT (student_iin, representative_iin) \
         DO UPDATE SET relation = excluded.relation";

    const STUDENT_COLUMNS: &str = "iin, full_name, school_bin, grade, class_label, category";

    fn student_from_row(r: &DbRow) -> Result<Student, StoreError> {
        let grade: SmallInt = r.try_get("grade")?;
        Ok(Student {
            iin: parse_stored("student IIN", r.try_get("iin")?)?,
            full_name: r.try_get("full_name")?,
            school: parse_stored("school BIN", r.try_get("school_bin")?)?,
            grade: u8::try_from(grade)
                .map_err(|_| StoreError::Corrupt("stored grade out of range".into()))?,
            class_label: r.try_get("class_label")?,
            category: parse_stored("category", r.try_get("category")?)?,
        })
    }

    pub(in crate::store) async fn fetch_voucher(
        conn: &mut Conn,
        id: VoucherId,
    ) -> Result<Option<Voucher>, StoreError> {
        let sql = format!("SELECT {VOUCHER_COLUMNS} FROM vouchers v WHERE v.id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid(id.as_uuid()))
            .fetch_optional(conn)
            .await?
            .as_ref()
            .map(voucher_from_row)
            .transpose()
    }

    #[async_trait]
    impl Health for Store {
        fn backend(&self) -> Backend {
            BACKEND
        }

        async fn ping(&self) -> Result<(), StoreError> {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        }
    }

    #[async_trait]
    impl PeopleStore for Store {
        async fn upsert_school(&self, school: &School, now: OffsetDateTime) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO schools (bin, name, created_at) VALUES ($1, $2, $3) \
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
            upsert_student_with(&self.pool, s, now).await
        }

        async fn student(&self, iin: Iin) -> Result<Option<Student>, StoreError> {
            let sql = format!("SELECT {STUDENT_COLUMNS} FROM students WHERE iin = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(iin.expose())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(student_from_row).transpose()
        }

        async fn student_at_school(
            &self,
            school: Bin,
            iin: Iin,
        ) -> Result<Option<Student>, StoreError> {
            let sql =
                format!("SELECT {STUDENT_COLUMNS} FROM students WHERE iin = $1 AND school_bin = $2");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(iin.expose())
                .bind(school.to_string())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(student_from_row).transpose()
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
    }

    /// The roster number of a change no pull has numbered yet. Writers only mark a voucher
    /// changed (no school-wide lock, so parents activating at once never queue on their
    /// school's row); the next roster pull numbers the school's marked vouchers in one
    /// transaction that holds the school row (`terminals::number_roster_changes`), so numbers
    /// are still handed out in commit order.
    pub(in crate::store) const ROSTER_PENDING: i64 = -1;

    /// Marks a student's live vouchers as changed (new card, new name or class).
    pub(in crate::store) async fn student_roster_changed(
        conn: &mut Conn,
        student: Iin,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE vouchers SET roster_seq = $1 WHERE student_iin = $2 \
             AND state IN ('formed', 'activated')",
        )
        .bind(ROSTER_PENDING)
        .bind(student.expose())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// `upsert_student` inside any executor (a pool or an open transaction).
    pub(in crate::store) async fn upsert_student_with<'c>(
        exec: impl sqlx::Executor<'c, Database = Db>,
        s: &Student,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO students (iin, full_name, school_bin, grade, class_label, category, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7){STUDENT_UPSERT}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(s.iin.expose())
        .bind(&s.full_name)
        .bind(s.school.to_string())
        .bind(SmallInt::from(s.grade))
        .bind(&s.class_label)
        .bind(s.category.as_str())
        .bind(ts(now))
        .execute(exec)
        .await?;
        Ok(())
    }

    /// `upsert_representative` inside any executor (a pool or an open transaction).
    pub(in crate::store) async fn upsert_representative_with<'c>(
        exec: impl sqlx::Executor<'c, Database = Db>,
        rep: &Representative,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO representatives (iin, full_name, phone, updated_at) \
             VALUES ($1, $2, $3, $4){REPRESENTATIVE_UPSERT}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(rep.iin.expose())
        .bind(&rep.full_name)
        .bind(&rep.phone)
        .bind(ts(now))
        .execute(exec)
        .await?;
        Ok(())
    }

    /// `link_representative` inside any executor (a pool or an open transaction).
    pub(in crate::store) async fn link_representative_with<'c>(
        exec: impl sqlx::Executor<'c, Database = Db>,
        student: Iin,
        rep: Iin,
        relation: Relation,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO student_representatives (student_iin, representative_iin, relation) \
             VALUES ($1, $2, $3){LINK_UPSERT}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(student.expose())
        .bind(rep.expose())
        .bind(relation.as_str())
        .execute(exec)
        .await?;
        Ok(())
    }
}
