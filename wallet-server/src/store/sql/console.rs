//! The school console's sessions, staff languages, a school's day of meals and
//! card unbinding.

use async_trait::async_trait;
use shared::{Bin, CardUid, Iin};
use sqlx::Row;
use time::{Date, OffsetDateTime};

super::per_backend! {
    use crate::domain::audit::Actor;
    use crate::domain::consent::Language;
    use crate::domain::terminal::card_unbound_audit;
    use crate::store::console::parse_role;
    use crate::store::{ConsoleSession, ConsoleStore, DayMeal, StoreError, parse_stored};

    #[async_trait]
    impl ConsoleStore for Store {
        async fn create_console_session(&self, s: &ConsoleSession) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(ts(s.created_at))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO console_sessions (id_hash, subject, role, school_bin, csrf_token, \
                 created_at, expires_at, display_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&s.id_hash)
            .bind(&s.subject)
            .bind(s.role.to_string())
            .bind(s.school.to_string())
            .bind(&s.csrf_token)
            .bind(ts(s.created_at))
            .bind(ts(s.expires_at))
            .bind(&s.name)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn console_session(
            &self,
            id_hash: &str,
            now: OffsetDateTime,
        ) -> Result<Option<ConsoleSession>, StoreError> {
            let row = sqlx::query(
                "SELECT id_hash, subject, role, school_bin, csrf_token, created_at, expires_at, \
                 display_name FROM console_sessions WHERE id_hash = $1 AND expires_at > $2",
            )
            .bind(id_hash)
            .bind(ts(now))
            .fetch_optional(&self.pool)
            .await?;
            let Some(r) = row else { return Ok(None) };
            Ok(Some(ConsoleSession {
                id_hash: r.try_get("id_hash")?,
                subject: r.try_get("subject")?,
                name: r.try_get("display_name")?,
                role: parse_role(r.try_get("role")?)?,
                school: parse_stored("school BIN", r.try_get("school_bin")?)?,
                csrf_token: r.try_get("csrf_token")?,
                created_at: get_ts(&r, "created_at")?,
                expires_at: get_ts(&r, "expires_at")?,
            }))
        }

        async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
            sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        async fn staff_language(&self, subject: &str) -> Result<Option<Language>, StoreError> {
            let word: Option<String> =
                sqlx::query_scalar("SELECT language FROM staff_preferences WHERE subject = $1")
                    .bind(subject)
                    .fetch_optional(&self.pool)
                    .await?;
            word.map(|w| parse_stored("language", &w)).transpose()
        }

        async fn set_staff_language(
            &self,
            subject: &str,
            language: Language,
            now: OffsetDateTime,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO staff_preferences (subject, language, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (subject) DO UPDATE SET language = excluded.language, \
                 updated_at = excluded.updated_at",
            )
            .bind(subject)
            .bind(language.as_str())
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn meals_of_school_day(
            &self,
            school: Bin,
            day: Date,
        ) -> Result<Vec<DayMeal>, StoreError> {
            let rows = sqlx::query(
                "SELECT m.event_id, m.student_iin, m.slot, m.served_at, m.method, m.status, \
                 CASE WHEN m.status = 'voided' THEN m.void_reason ELSE m.reason END AS reason, \
                 COALESCE(s.full_name, '') AS full_name, COALESCE(s.class_label, '') AS class_label \
                 FROM meals m LEFT JOIN students s ON s.iin = m.student_iin \
                 WHERE m.school_bin = $1 AND m.service_day = $2 ORDER BY m.served_at, m.event_id",
            )
            .bind(school.to_string())
            .bind(date(day))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(DayMeal {
                        event_id: get_uuid(r, "event_id")?,
                        student: parse_stored("student IIN", r.try_get("student_iin")?)?,
                        student_name: r.try_get("full_name")?,
                        class_label: r.try_get("class_label")?,
                        slot: r.try_get("slot")?,
                        served_at: get_ts(r, "served_at")?,
                        method: r.try_get("method")?,
                        status: parse_stored("meal status", r.try_get("status")?)?,
                        reason: r.try_get("reason")?,
                    })
                })
                .collect()
        }

        async fn listed_students(&self, school: Bin, period: &str) -> Result<Vec<Iin>, StoreError> {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT student_iin FROM eligibility_entries \
                 WHERE school_bin = $1 AND programme = 'school_meals' AND period = $2",
            )
            .bind(school.to_string())
            .bind(period)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|s| parse_stored("student IIN", s))
                .collect()
        }

        async fn unbind_card(
            &self,
            school: Bin,
            student: Iin,
            by: &Actor,
            at: OffsetDateTime,
        ) -> Result<Option<CardUid>, StoreError> {
            let mut tx = write(self).await?;
            let of: Option<String> =
                sqlx::query_scalar("SELECT school_bin FROM students WHERE iin = $1")
                    .bind(student.expose())
                    .fetch_optional(&mut *tx)
                    .await?;
            if of.as_deref() != Some(school.to_string().as_str()) {
                return Err(StoreError::NotFound);
            }
            let card: Option<String> =
                sqlx::query_scalar("DELETE FROM cards WHERE student_iin = $1 RETURNING card_uid")
                    .bind(student.expose())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(card) = card else { return Ok(None) };
            let card: CardUid = parse_stored("card UID", &card)?;
            insert_audit(&mut tx, &card_unbound_audit(card, school, by, at)).await?;
            student_roster_changed(&mut tx, student).await?;
            tx.commit().await?;
            Ok(Some(card))
        }
    }
}
