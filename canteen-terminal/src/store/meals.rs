//! Meals: recorded durably before the worker sees green, queued until the server has
//! answered for them, then kept with the server's verdict (they also feed the local meal
//! rule and today's count).
//!
//! An event id is made once, when the meal is inserted, and never changes: a push that got
//! no answer is sent again with the same ids, which is what makes it idempotent on the
//! server.

use rusqlite::{params, ErrorCode, TransactionBehavior};
use shared::sync::{MealEvent, MealResult, MealVerdict, Method};
use shared::VoucherId;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{fmt_date, fmt_ts, parse_date, parse_ts, parse_uuid, Store, StoreError};
use crate::decide::Meal;

/// What happened to a meal the decision accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Committed to disk under this event id.
    Inserted(Uuid),
    /// Another meal of the same voucher, day and slot got there first: deny.
    AlreadyAte,
}

/// Who served a meal and, when by hand, why (stamped on the meal and pushed with it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp<'a> {
    pub worker: Option<&'a shared::Label>,
    /// Required for a manual meal.
    pub manual_reason: Option<&'a shared::Label>,
}

/// What marking a push's answer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MarkSummary {
    pub accepted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// Results for event ids that were not waiting for an answer (ignored).
    pub unknown: u64,
}

impl MarkSummary {
    /// Events that got their answer.
    pub fn answered(&self) -> u64 {
        self.accepted + self.duplicate + self.rejected
    }
}

fn method_text(method: Method) -> &'static str {
    method.as_str()
}

fn verdict_text(verdict: MealVerdict) -> &'static str {
    match verdict {
        MealVerdict::Accepted => "accepted",
        MealVerdict::Duplicate => "duplicate",
        MealVerdict::Rejected => "rejected",
    }
}

impl Store {
    /// Commits a meal in its own transaction (durable on return: `synchronous=FULL`). If
    /// the student already has a meal for that day and slot — two scans raced past the
    /// decision — nothing is written and the answer is [`Recorded::AlreadyAte`].
    pub fn record_meal(&self, meal: &Meal, stamp: Stamp<'_>) -> Result<Recorded, StoreError> {
        let event_id = Uuid::now_v7();
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO meals (event_id, voucher_id, service_day, slot, served_at, method,
                                pass_nonce, student_name, class_label, worker, manual_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let inserted = stmt.execute(params![
            event_id.to_string(),
            meal.student.voucher_id.to_string(),
            fmt_date(meal.service_day),
            meal.slot,
            fmt_ts(meal.served_at),
            method_text(meal.method),
            meal.pass_nonce.map(|n| n.to_string()),
            meal.student.name,
            meal.student.class_label,
            stamp.worker.map(|w| w.as_str()),
            stamp.manual_reason.map(|r| r.as_str()),
        ]);
        match inserted {
            Ok(_) => Ok(Recorded::Inserted(event_id)),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation
                    && e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                Ok(Recorded::AlreadyAte)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Meals not yet answered by the server, oldest first, at most `limit`.
    pub fn unsent(&self, limit: usize) -> Result<Vec<MealEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, voucher_id, slot, service_day, served_at, method, pass_nonce,
                    manual_reason, worker
             FROM meals WHERE pushed_at IS NULL ORDER BY event_id LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![limit], |r| {
            Ok((
                [
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ],
                [
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ],
            ))
        })?;
        let label = |text: Option<String>| {
            text.map(|t| t.parse::<shared::Label>())
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("label: {e}")))
        };
        let mut events = Vec::new();
        for row in rows {
            let ([event_id, voucher, slot, day, served_at, method], [pass_nonce, reason, worker]) =
                row?;
            events.push(MealEvent {
                event_id: parse_uuid(&event_id)?,
                voucher_id: VoucherId::from_uuid(parse_uuid(&voucher)?),
                // Checked again on the way out: a slot the server would refuse stops here.
                slot: slot
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("slot: {e}")))?,
                service_day: parse_date(&day)?,
                served_at: parse_ts(&served_at)?,
                method: method.parse().map_err(StoreError::Corrupt)?,
                pass_nonce: pass_nonce
                    .map(|n| n.parse())
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("pass nonce: {e}")))?,
                manual_reason: label(reason)?,
                worker: label(worker)?,
            });
        }
        Ok(events)
    }

    /// How many meals wait for the server.
    pub fn unsent_count(&self) -> Result<u64, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT count(*) FROM meals WHERE pushed_at IS NULL")?;
        Ok(stmt.query_row([], |row| row.get(0))?)
    }

    /// Meals recorded for a service day and not voided (whatever the server said).
    pub fn meals_on(&self, day: Date) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT count(*) FROM meals WHERE service_day = ?1 AND voided_at IS NULL",
        )?;
        Ok(stmt.query_row(params![fmt_date(day)], |row| row.get(0))?)
    }

    /// Stores the server's answers (one transaction): each answered meal leaves the queue
    /// with its verdict. Answers for meals not in the queue are counted and ignored.
    pub fn mark_results(
        &mut self,
        results: &[MealResult],
        at: OffsetDateTime,
    ) -> Result<MarkSummary, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut summary = MarkSummary::default();
        let at = fmt_ts(at);
        for result in results {
            let changed = tx
                .prepare_cached(
                    "UPDATE meals SET pushed_at = ?1, server_status = ?2, server_reason = ?3
                     WHERE event_id = ?4 AND pushed_at IS NULL",
                )?
                .execute(params![
                    at,
                    verdict_text(result.status),
                    result.reason,
                    result.event_id.to_string(),
                ])?;
            let counter = match (changed, result.status) {
                (0, _) => &mut summary.unknown,
                (_, MealVerdict::Accepted) => &mut summary.accepted,
                (_, MealVerdict::Duplicate) => &mut summary.duplicate,
                (_, MealVerdict::Rejected) => &mut summary.rejected,
            };
            *counter += 1;
        }
        tx.commit()?;
        Ok(summary)
    }

    /// The server's verdict on a meal, if it has answered: `(status, reason)`.
    pub fn server_verdict(
        &self,
        event_id: Uuid,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT server_status, server_reason FROM meals
             WHERE event_id = ?1 AND pushed_at IS NOT NULL",
        )?;
        let mut rows = stmt.query(params![event_id.to_string()])?;
        match rows.next()? {
            Some(row) => Ok(Some((row.get(0)?, row.get(1)?))),
            None => Ok(None),
        }
    }
}
