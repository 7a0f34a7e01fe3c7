//! A pushed batch of meals stored in bulk, following `domain::meal::batch`.
//! Runs inside the push's write transaction, after `lock_school_pushes`: on SQLite that
//! transaction's `BEGIN IMMEDIATE` lets no other writer interleave; on PostgreSQL concurrent
//! pushes (of other schools) may still race for the same student, slot and day, and the meal
//! rule's unique index makes the later insert wait for the earlier commit and then refuse it,
//! so the second round records it as a duplicate.

use std::collections::{HashMap, HashSet};

use shared::sync::{MealEvent, MealResult, MealSlot};
use shared::VoucherId;
use sqlx::{QueryBuilder, Row as _};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::meal::batch::{
    self as meal_batch, method_word, verdict_of, MealRow, ROWS_PER_STATEMENT,
};
use crate::domain::meal::MealJudge;
use crate::domain::meal::VoucherFacts;
use crate::domain::terminal::TerminalRecord;
use crate::domain::Programme;
use crate::store::{parse_stored, StoreError};

/// When a push's rows were received, and the school's meal number they carry.
#[derive(Clone, Copy)]
struct Stamp {
    now: OffsetDateTime,
    seq: i64,
}

/// A stored shift (a small integer on both backends); NULL is none.
pub(in crate::store) fn stored_shift<N: TryInto<u8>>(
    n: Option<N>,
) -> Result<Option<shared::counter::Shift>, StoreError> {
    n.map(|n| {
        n.try_into()
            .ok()
            .and_then(|n| shared::counter::Shift::new(n).ok())
            .ok_or_else(|| StoreError::Corrupt("stored shift".into()))
    })
    .transpose()
}

super::per_backend! {
    /// A push's meals inside the caller's write transaction, the school's push lock held:
    /// judged and stored, and the terminal's last push noted.
    pub(in crate::store) async fn push_meals_in(
        conn: &mut Conn,
        terminal: &TerminalRecord,
        batch: &shared::sync::MealBatch,
        now: OffsetDateTime,
        slots: &[MealSlot],
        judge: MealJudge<'_>,
    ) -> Result<Vec<MealResult>, StoreError> {
        let results = record_batch(conn, terminal, &batch.events, now, slots, judge).await?;
        sqlx::query(
            "UPDATE terminals SET last_push_at = $1, last_seen_at = $2, unsent_reported = $3 WHERE id = $4",
        )
        .bind(ts(now))
        .bind(ts(now))
        .bind(batch.unsent_after.and_then(|n| i64::try_from(n).ok()))
        .bind(uuid(terminal.id))
        .execute(&mut *conn)
        .await?;
        Ok(results)
    }

    /// The school's meal slots, read on `conn` (inside a push's transaction, or alone).
    pub(in crate::store) async fn slots_of(
        conn: &mut Conn,
        school: shared::Bin,
    ) -> Result<Vec<MealSlot>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, start_minute, end_minute, shift FROM meal_slots WHERE school_bin = $1 ORDER BY start_minute",
        )
        .bind(school.to_string())
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                let minute = |c: &str| -> Result<u16, StoreError> {
                    let v: SmallInt = r.try_get(c)?;
                    u16::try_from(v).map_err(|_| StoreError::Corrupt("stored slot minute".into()))
                };
                Ok(MealSlot {
                    name: r.try_get("name")?,
                    start_minute: minute("start_minute")?,
                    end_minute: minute("end_minute")?,
                    shift: stored_shift(r.try_get::<Option<SmallInt>, _>("shift")?)?,
                })
            })
            .collect()
    }

    /// Judges and stores `events`; one answer per event, in order.
    async fn record_batch(
        conn: &mut Conn,
        terminal: &TerminalRecord,
        events: &[MealEvent],
        now: OffsetDateTime,
        slots: &[MealSlot],
        judge: MealJudge<'_>,
    ) -> Result<Vec<MealResult>, StoreError> {
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let known = stored_results(conn, terminal, &ids).await?;
        let wanted = meal_batch::vouchers_to_look_up(events, &known);
        let mut facts = voucher_facts(conn, terminal.school, &wanted).await?;
        with_entitlement(conn, terminal.school, &mut facts).await?;
        let steps = meal_batch::plan(events, &known, &facts, slots, judge);
        let seq = next_meals_seq(conn, terminal.school).await?;
        let stamp = Stamp { now, seq };
        let first = insert_rows(conn, terminal, &meal_batch::first_round(&steps), stamp).await?;
        let again = meal_batch::second_round(&steps, &first);
        let second = insert_rows(conn, terminal, &again.iter().collect::<Vec<_>>(), stamp).await?;
        let unresolved = meal_batch::unresolved(&steps, &first, &second);
        let stored = stored_results(conn, terminal, &unresolved).await?;
        meal_batch::answers(steps, &first, &second, &stored)
            .map_err(|id| StoreError::Corrupt(format!("meal {id} was neither inserted nor found")))
    }

    /// The school's next meal number: every meal of one push gets it, and pushes of a school
    /// take turns, so terminals pulling `meals_after` miss none.
    async fn next_meals_seq(conn: &mut Conn, school: shared::Bin) -> Result<i64, StoreError> {
        let seq: i64 = sqlx::query_scalar(
            "UPDATE schools SET meals_seq = meals_seq + 1 WHERE bin = $1 RETURNING meals_seq",
        )
        .bind(school.to_string())
        .fetch_one(&mut *conn)
        .await?;
        Ok(seq)
    }

    /// The answers already given to this terminal's events (another terminal's events with
    /// the same ids are not its business). The ids are one bound list, planned for each push
    /// (`in_list` says why).
    async fn stored_results(
        conn: &mut Conn,
        terminal: &TerminalRecord,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, MealResult>, StoreError> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT event_id, status, reason FROM meals WHERE terminal_id = $1 AND event_id {}",
            in_list("$2")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid(terminal.id))
            .bind(uuid_list(ids))
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
        for r in rows {
            let id = get_uuid(&r, "event_id")?;
            let status: String = r.try_get("status")?;
            out.insert(
                id,
                MealResult {
                    event_id: id,
                    status: verdict_of(&status),
                    reason: r.try_get("reason")?,
                },
            );
        }
        Ok(out)
    }

    /// The facts of `school`'s vouchers among `ids`: another school's voucher is not found,
    /// so it is answered as unknown and nothing is stored against it.
    async fn voucher_facts(
        conn: &mut Conn,
        school: shared::Bin,
        ids: &[VoucherId],
    ) -> Result<HashMap<VoucherId, VoucherFacts>, StoreError> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT v.id, v.school_bin, v.student_iin, v.state, v.activated_at, v.updated_at, \
             v.valid_from, v.valid_until, cs.shift FROM vouchers v \
             LEFT JOIN students s ON s.iin = v.student_iin \
             LEFT JOIN class_shifts cs ON cs.school_bin = v.school_bin AND cs.class_label = s.class_label \
             WHERE v.school_bin = $1 AND v.id {}",
            in_list("$2")
        );
        let uuids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(school.to_string())
            .bind(uuid_list(&uuids))
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
        for r in rows {
            let facts = VoucherFacts {
                school: parse_stored("school BIN", r.try_get("school_bin")?)?,
                student: parse_stored("student IIN", r.try_get("student_iin")?)?,
                state: parse_stored("voucher state", r.try_get("state")?)?,
                activated_at: get_opt_ts(&r, "activated_at")?,
                updated_at: get_ts(&r, "updated_at")?,
                valid_from: get_date(&r, "valid_from")?,
                valid_until: get_date(&r, "valid_until")?,
                entitled: Vec::new(),
                shift: stored_shift(r.try_get::<Option<SmallInt>, _>("shift")?)?,
            };
            out.insert(VoucherId::from_uuid(get_uuid(&r, "id")?), facts);
        }
        Ok(out)
    }

    /// Adds the entitled days at `school` to the facts of its vouchers.
    async fn with_entitlement(
        conn: &mut Conn,
        school: shared::Bin,
        facts: &mut HashMap<VoucherId, VoucherFacts>,
    ) -> Result<(), StoreError> {
        let students: Vec<shared::Iin> = facts
            .values()
            .map(|f| f.student)
            .collect();
        let ranges =
            entitlements::ranges_at(conn, Programme::SchoolMeals, school, &students).await?;
        for f in facts.values_mut() {
            f.entitled = ranges.get(&f.student).cloned().unwrap_or_default();
        }
        Ok(())
    }

    /// Inserts the rows in order; returns the event ids actually inserted.
    async fn insert_rows(
        conn: &mut Conn,
        terminal: &TerminalRecord,
        rows: &[&MealRow<'_>],
        stamp: Stamp,
    ) -> Result<HashSet<Uuid>, StoreError> {
        let mut inserted = HashSet::new();
        let school = terminal.school.to_string();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO meals (event_id, voucher_id, student_iin, school_bin, terminal_id, service_day, \
                 slot, served_at, method, status, reason, received_at, pass_nonce, manual_reason, worker, \
                 school_seq) ",
            );
            q.push_values(chunk, |mut b, row| {
                let e = row.event;
                b.push_bind(uuid(e.event_id))
                    .push_bind(uuid(e.voucher_id.as_uuid()))
                    .push_bind(row.facts.student.expose())
                    .push_bind(school.clone())
                    .push_bind(uuid(terminal.id))
                    .push_bind(date(e.service_day))
                    .push_bind(e.slot.to_string())
                    .push_bind(ts(e.served_at))
                    .push_bind(method_word(e))
                    .push_bind(row.status)
                    .push_bind(row.reason.clone())
                    .push_bind(ts(stamp.now))
                    .push_bind(e.pass_nonce.map(|n| n.to_string()))
                    .push_bind(e.manual_reason.as_ref().map(|l| l.to_string()))
                    .push_bind(e.worker.as_ref().map(|l| l.to_string()))
                    .push_bind(stamp.seq);
            });
            q.push(" ON CONFLICT DO NOTHING RETURNING event_id");
            for r in q.build().fetch_all(&mut *conn).await? {
                inserted.insert(get_uuid(&r, "event_id")?);
            }
        }
        Ok(inserted)
    }
}
