//! What the counter keeps besides meals and the roster (issue 19): the worker signed in,
//! which meals the worker has seen, voids of this terminal's meals, refused scans waiting
//! to be pushed, the meals the school's other terminals served today (so "already ate"
//! can say when and where) and today's progress.
//!
//! Voids and denials ride along with the meal push; each leaves its queue only when the
//! server has answered for it, like meals.

use rusqlite::{params, OptionalExtension, Transaction};
use shared::counter::{MealVoid, Progress, ProgressCount, ScanDenial, VoidResult, VoidVerdict};
use shared::sync::SyncResponse;
use shared::{Label, VoucherId};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::{fmt_date, fmt_ts, parse_ts, parse_uuid, Store, StoreError};

/// How long after serving the worker may take a meal back on the terminal (the server
/// accepts a terminal's void for 10 minutes; the margin covers a slow push).
pub const VOID_WINDOW: Duration = Duration::minutes(5);

/// A meal of this terminal that can still be voided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voidable {
    pub event_id: Uuid,
    pub student_name: String,
    pub class_label: String,
    pub slot: String,
    pub served_at: OffsetDateTime,
}

/// Why a void was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoidRefused {
    /// No meal of this terminal with that id, or already voided.
    UnknownMeal,
    /// Served longer ago than [`VOID_WINDOW`].
    TooLate,
}

/// Stores the counter's part of a pull (inside the pull's transaction): other terminals'
/// meals of today, the meals cursor and the server's progress.
pub(super) fn apply_counter_sync(
    tx: &Transaction<'_>,
    pulled: &SyncResponse,
) -> Result<(), StoreError> {
    for seen in &pulled.meals_seen {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO meals_seen
                (voucher_id, service_day, slot, served_at, terminal, method)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            seen.voucher_id.to_string(),
            fmt_date(seen.service_day),
            seen.slot.as_str(),
            fmt_ts(seen.served_at),
            seen.terminal,
            seen.method.as_str(),
        ])?;
    }
    if let Some(cursor) = pulled.meals_cursor {
        tx.execute(
            "UPDATE state SET meals_cursor = ?1 WHERE id = 1",
            params![cursor],
        )?;
    }
    if let Some(progress) = &pulled.progress {
        let json = serde_json::to_string(progress)
            .map_err(|_| StoreError::Corrupt("progress does not serialize".into()))?;
        tx.execute("UPDATE state SET progress = ?1 WHERE id = 1", params![json])?;
    }
    // Yesterday's meals of other terminals decide nothing any more.
    if let Some(day) = pulled.meals_seen.iter().map(|m| m.service_day).max() {
        tx.execute(
            "DELETE FROM meals_seen WHERE service_day < ?1",
            params![fmt_date(day)],
        )?;
    }
    Ok(())
}

impl Store {
    /// The worker signed in at this terminal (kept across restarts).
    pub fn worker(&self) -> Result<Option<Label>, StoreError> {
        let name: Option<String> =
            self.conn
                .query_row("SELECT worker FROM state WHERE id = 1", [], |r| r.get(0))?;
        name.map(|n| n.parse().map_err(|_| StoreError::Corrupt("worker".into())))
            .transpose()
    }

    /// Signs a worker in (or out with `None`).
    pub fn set_worker(&self, worker: Option<&Label>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE state SET worker = ?1 WHERE id = 1",
            params![worker.map(Label::as_str)],
        )?;
        Ok(())
    }

    /// The meals cursor to pull with (`meals_after`).
    pub fn meals_cursor(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT meals_cursor FROM state WHERE id = 1", [], |r| {
                r.get(0)
            })?)
    }

    /// The server's progress from the last pull, if it was for `day`.
    pub fn server_progress(&self, day: Date) -> Result<Option<Progress>, StoreError> {
        let json: Option<String> =
            self.conn
                .query_row("SELECT progress FROM state WHERE id = 1", [], |r| r.get(0))?;
        let progress = json
            .map(|j| serde_json::from_str::<Progress>(&j))
            .transpose()
            .map_err(|_| StoreError::Corrupt("stored progress does not parse".into()))?;
        Ok(progress.filter(|p| p.service_day == day))
    }

    /// Today's progress as this terminal alone knows it (offline): its meals per slot and
    /// per class against the active roster.
    pub fn local_progress(&self, day: Date) -> Result<Progress, StoreError> {
        let count = |sql: &str| -> Result<Vec<ProgressCount>, StoreError> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![fmt_date(day)], |r| {
                Ok(ProgressCount {
                    label: r.get(0)?,
                    served: r.get(1)?,
                    expected: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        };
        let roster: u32 =
            self.conn
                .query_row("SELECT count(*) FROM roster WHERE active = 1", [], |r| {
                    r.get(0)
                })?;
        let mut slots = count(
            "SELECT s.name, (SELECT count(*) FROM meals m WHERE m.service_day = ?1
                    AND m.slot = s.name AND m.voided_at IS NULL),
                (SELECT count(*) FROM roster r WHERE r.active = 1
                    AND (s.shift IS NULL OR r.shift IS NULL OR r.shift = s.shift))
             FROM slots s ORDER BY s.start_minute",
        )?;
        if slots.is_empty() {
            slots.push(ProgressCount {
                label: "day".into(),
                served: u32::try_from(self.meals_on(day)?).unwrap_or(u32::MAX),
                expected: roster,
            });
        }
        let classes = count(
            "SELECT r.class_label, (SELECT count(DISTINCT m.voucher_id) FROM meals m
                    WHERE m.service_day = ?1 AND m.class_label = r.class_label
                    AND m.voided_at IS NULL), count(*)
             FROM roster r WHERE r.active = 1 GROUP BY r.class_label ORDER BY r.class_label",
        )?;
        Ok(Progress {
            service_day: day,
            slots,
            classes,
        })
    }

    /// The worker has seen this meal on screen. Written with `synchronous=NORMAL`: losing
    /// the mark in a power cut only makes the terminal say "recorded N s ago" once more.
    pub fn mark_shown(&self, event_id: Uuid) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let done = self.conn.execute(
            "UPDATE meals SET shown = 1 WHERE event_id = ?1 AND shown = 0",
            params![event_id.to_string()],
        );
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        done?;
        Ok(())
    }

    /// This terminal's meals served after `since` and not voided, newest first: what the
    /// worker may still take back.
    pub fn voidable(&self, now: OffsetDateTime) -> Result<Vec<Voidable>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, student_name, class_label, slot, served_at FROM meals
             WHERE voided_at IS NULL AND served_at >= ?1 ORDER BY served_at DESC LIMIT 20",
        )?;
        let mut rows = stmt.query(params![fmt_ts(now - VOID_WINDOW)])?;
        let mut found = Vec::new();
        while let Some(r) = rows.next()? {
            found.push(Voidable {
                event_id: parse_uuid(&r.get::<_, String>(0)?)?,
                student_name: r.get(1)?,
                class_label: r.get(2)?,
                slot: r.get(3)?,
                served_at: parse_ts(&r.get::<_, String>(4)?)?,
            });
        }
        Ok(found)
    }

    /// Takes a meal of this terminal back (durably, to be pushed as a void).
    pub fn void_meal(
        &self,
        event_id: Uuid,
        now: OffsetDateTime,
        reason: &Label,
        worker: Option<&Label>,
    ) -> Result<Result<(), VoidRefused>, StoreError> {
        let served: Option<String> = self
            .conn
            .query_row(
                "SELECT served_at FROM meals WHERE event_id = ?1 AND voided_at IS NULL",
                params![event_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(served) = served else {
            return Ok(Err(VoidRefused::UnknownMeal));
        };
        if now - parse_ts(&served)? > VOID_WINDOW {
            return Ok(Err(VoidRefused::TooLate));
        }
        self.conn.execute(
            "UPDATE meals SET voided_at = ?1, void_reason = ?2, void_worker = ?3
             WHERE event_id = ?4 AND voided_at IS NULL",
            params![
                fmt_ts(now),
                reason.as_str(),
                worker.map(Label::as_str),
                event_id.to_string()
            ],
        )?;
        Ok(Ok(()))
    }

    /// Voids not yet answered by the server, oldest first. A void is pushed only once its
    /// meal has been (the server applies voids after the batch's meals anyway).
    pub fn unsent_voids(&self, limit: usize) -> Result<Vec<MealVoid>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, voided_at, void_reason, void_worker FROM meals
             WHERE voided_at IS NOT NULL AND void_pushed_at IS NULL
             ORDER BY voided_at LIMIT ?1",
        )?;
        let mut rows = stmt.query(params![i64::try_from(limit).unwrap_or(i64::MAX)])?;
        let mut voids = Vec::new();
        let label = |t: String| {
            t.parse::<Label>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        while let Some(r) = rows.next()? {
            voids.push(MealVoid {
                event_id: parse_uuid(&r.get::<_, String>(0)?)?,
                voided_at: parse_ts(&r.get::<_, String>(1)?)?,
                reason: label(r.get(2)?)?,
                worker: r.get::<_, Option<String>>(3)?.map(label).transpose()?,
            });
        }
        Ok(voids)
    }

    /// Stores the server's answers to voids.
    pub fn mark_voids(&self, results: &[VoidResult], at: OffsetDateTime) -> Result<(), StoreError> {
        for result in results {
            let status = match result.status {
                VoidVerdict::Voided => "voided",
                VoidVerdict::Adjustment => "adjustment",
                VoidVerdict::Rejected => "rejected",
            };
            self.conn
                .prepare_cached(
                    "UPDATE meals SET void_pushed_at = ?1, void_status = ?2,
                        void_server_reason = ?3 WHERE event_id = ?4 AND voided_at IS NOT NULL",
                )?
                .execute(params![
                    fmt_ts(at),
                    status,
                    result.reason,
                    result.event_id.to_string()
                ])?;
        }
        Ok(())
    }

    /// The server's answer to a void: `(status, reason)`.
    pub fn void_verdict(
        &self,
        event_id: Uuid,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT void_status, void_server_reason FROM meals
                 WHERE event_id = ?1 AND void_status IS NOT NULL",
                params![event_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Keeps a refused scan to push (for the misuse signals and the parent's feed).
    pub fn record_denial(&self, denial: &ScanDenial) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let done = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO denials
                    (event_id, at, reason, method, voucher_id, pass_nonce, card_uid)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    denial.event_id.to_string(),
                    fmt_ts(denial.at),
                    denial.reason.as_str(),
                    denial.method.as_str(),
                    denial.voucher_id.map(|v| v.to_string()),
                    denial.pass_nonce.map(|n| n.to_string()),
                    denial.card_uid.map(|c| c.to_string()),
                ])
            });
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        done?;
        Ok(())
    }

    /// Refused scans not yet stored by the server, oldest first.
    pub fn unsent_denials(&self, limit: usize) -> Result<Vec<ScanDenial>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, at, reason, method, voucher_id, pass_nonce, card_uid FROM denials
             WHERE pushed_at IS NULL ORDER BY event_id LIMIT ?1",
        )?;
        let mut rows = stmt.query(params![i64::try_from(limit).unwrap_or(i64::MAX)])?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("denial {what}"));
        let mut denials = Vec::new();
        while let Some(r) = rows.next()? {
            let text = |i: usize| r.get::<_, Option<String>>(i);
            denials.push(ScanDenial {
                event_id: parse_uuid(&r.get::<_, String>(0)?)?,
                at: parse_ts(&r.get::<_, String>(1)?)?,
                reason: r
                    .get::<_, String>(2)?
                    .parse()
                    .map_err(|_| corrupt("reason"))?,
                method: r
                    .get::<_, String>(3)?
                    .parse()
                    .map_err(StoreError::Corrupt)?,
                voucher_id: text(4)?
                    .map(|v| parse_uuid(&v).map(VoucherId::from_uuid))
                    .transpose()?,
                pass_nonce: text(5)?
                    .map(|n| n.parse().map_err(|_| corrupt("nonce")))
                    .transpose()?,
                card_uid: text(6)?
                    .map(|c| c.parse().map_err(|_| corrupt("card")))
                    .transpose()?,
            });
        }
        Ok(denials)
    }

    /// The server stored these denials.
    pub fn mark_denials_pushed(&self, ids: &[Uuid], at: OffsetDateTime) -> Result<(), StoreError> {
        for id in ids {
            self.conn
                .prepare_cached("UPDATE denials SET pushed_at = ?1 WHERE event_id = ?2")?
                .execute(params![fmt_ts(at), id.to_string()])?;
        }
        Ok(())
    }

    /// Refused scans waiting for the server.
    pub fn unsent_denial_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM denials WHERE pushed_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }
}
