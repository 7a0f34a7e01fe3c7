//! The roster, the pass keys and the meal slots: looked up on every scan (through
//! [`crate::decide::Roster`], with cached prepared statements) and replaced or patched by
//! every pull ([`Store::apply_sync`], one transaction).

use rusqlite::{params, Row, TransactionBehavior};
use shared::counter::Shift;
use shared::pass::KeySet;
use shared::sync::{DayRange, MealSlot, RosterEntry, SyncResponse};
use shared::{CardUid, VoucherId};
use time::{Date, OffsetDateTime};

use super::{fmt_date, fmt_ts, parse_date, parse_ts, parse_uuid, Store, StoreError, TerminalState};
use crate::decide::{EarlierMeal, Roster, Student};

/// What the decision loop keeps in memory between pulls.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub state: TerminalState,
    pub keys: KeySet,
    pub slots: Vec<MealSlot>,
    /// Students on the roster who may eat (active).
    pub roster_active: u64,
}

/// What a pull changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplySummary {
    /// Roster entries received.
    pub roster_changes: u64,
    /// Active students on the roster afterwards.
    pub roster_active: u64,
    /// Keys stored (published keys whose id does not match the key are dropped).
    pub keys: u64,
    /// Slots stored (slots with impossible hours are dropped).
    pub slots: u64,
}

/// Reads a roster row selected by [`student_query!`].
fn student_of(row: &Row<'_>) -> Result<Student, StoreError> {
    let entitled = row
        .get::<_, Option<String>>(6)?
        .map(|json| serde_json::from_str::<Vec<DayRange>>(&json))
        .transpose()
        .map_err(|_| StoreError::Corrupt("stored entitlement ranges do not parse".into()))?;
    let shift = row
        .get::<_, Option<u8>>(7)?
        .map(Shift::new)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Student {
        voucher_id: VoucherId::from_uuid(parse_uuid(&row.get::<_, String>(0)?)?),
        name: row.get(1)?,
        class_label: row.get(2)?,
        active: row.get(3)?,
        valid_from: row
            .get::<_, Option<String>>(4)?
            .as_deref()
            .map(parse_date)
            .transpose()?
            .unwrap_or(Date::MIN),
        valid_until: parse_date(&row.get::<_, String>(5)?)?,
        entitled,
        shift,
        alert: row.get(8)?,
    })
}

/// The columns [`student_of`] reads, and the lookups using them.
macro_rules! student_query {
    ($where:literal) => {
        concat!(
            "SELECT voucher_id, student_name, class_label, active, valid_from, valid_until, \
             entitled, shift, alert FROM roster WHERE ",
            $where
        )
    };
}

impl Store {
    fn one_student(&self, sql: &str, key: String) -> Result<Option<Student>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params![key])?;
        rows.next()?.map(student_of).transpose()
    }

    /// Active students whose name or class contains `query` (case-insensitive, Cyrillic
    /// included: SQLite's `lower` knows only ASCII, so the match is made here), by class and
    /// name, at most `limit`: the worker's lookup when a child has neither card nor phone.
    pub fn search_roster(&self, query: &str, limit: usize) -> Result<Vec<Student>, StoreError> {
        let mut stmt = self.conn.prepare_cached(student_query!(
            "active = 1 ORDER BY class_label, student_name"
        ))?;
        let needle = query.trim().to_lowercase();
        let mut rows = stmt.query([])?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let student = student_of(row)?;
            let matches = |text: &str| text.to_lowercase().contains(&needle);
            if matches(&student.name) || matches(&student.class_label) {
                found.push(student);
                if found.len() >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }
}

impl Roster for Store {
    type Error = StoreError;

    fn by_voucher(&self, voucher: VoucherId) -> Result<Option<Student>, StoreError> {
        self.one_student(student_query!("voucher_id = ?1"), voucher.to_string())
    }

    fn by_card(&self, card: CardUid) -> Result<Option<Student>, StoreError> {
        self.one_student(student_query!("card_uid = ?1"), card.to_string())
    }

    fn earlier_meal(
        &self,
        voucher: VoucherId,
        day: Date,
    ) -> Result<Option<EarlierMeal>, StoreError> {
        // This terminal's own meal first, then what the sync said other terminals served.
        let mut stmt = self.conn.prepare_cached(
            "SELECT served_at, slot, NULL, event_id, shown, 0 AS mine FROM meals
             WHERE voucher_id = ?1 AND service_day = ?2 AND voided_at IS NULL
             UNION ALL
             SELECT served_at, slot, terminal, NULL, 1, 1 FROM meals_seen
             WHERE voucher_id = ?1 AND service_day = ?2
             ORDER BY mine, served_at LIMIT 1",
        )?;
        let mut rows = stmt.query(params![voucher.to_string(), fmt_date(day)])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        Ok(Some(EarlierMeal {
            served_at: parse_ts(&row.get::<_, String>(0)?)?,
            slot: row.get(1)?,
            terminal: row.get(2)?,
            event_id: row
                .get::<_, Option<String>>(3)?
                .as_deref()
                .map(parse_uuid)
                .transpose()?,
            shown: row.get(4)?,
        }))
    }
}

impl Store {
    /// The state, keys, slots and roster size, for the decision loop.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut keys = KeySet::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kid, public_key FROM keys")?;
        let rows = stmt.query_map([], |row| {
            Ok(shared::pass::PublicKey {
                kid: row.get(0)?,
                public_key: row.get(1)?,
            })
        })?;
        for key in rows {
            let key = key?;
            keys.insert_published(&key)
                .map_err(|e| StoreError::Corrupt(format!("key {}: {e}", key.kid)))?;
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, start_minute, end_minute, shift FROM slots ORDER BY start_minute",
        )?;
        let slots = stmt
            .query_map([], |row| {
                Ok(MealSlot {
                    name: row.get(0)?,
                    start_minute: row.get(1)?,
                    end_minute: row.get(2)?,
                    shift: row
                        .get::<_, Option<u8>>(3)?
                        .and_then(|n| Shift::new(n).ok()),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Snapshot {
            state: self.state()?,
            keys,
            slots,
            roster_active: self.roster_active()?,
        })
    }

    /// Students on the roster who may eat.
    pub fn roster_active(&self) -> Result<u64, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT count(*) FROM roster WHERE active = 1")?;
        Ok(stmt.query_row([], |row| row.get(0))?)
    }

    /// Applies a pull in one transaction: roster changes (or the whole roster when `full`),
    /// the key set and the slots (both replaced), the cursor, the clock offset and the time
    /// of this pull (the server's).
    pub fn apply_sync(
        &mut self,
        pulled: &SyncResponse,
        clock_offset_ms: i64,
        synced_at: OffsetDateTime,
    ) -> Result<ApplySummary, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if pulled.full {
            tx.execute("DELETE FROM roster", [])?;
        }
        for entry in &pulled.roster {
            upsert_student(&tx, entry)?;
        }
        let keys = replace_keys(&tx, pulled)?;
        let slots = replace_slots(&tx, &pulled.slots)?;
        super::counter::apply_counter_sync(&tx, pulled)?;
        tx.execute(
            "UPDATE state SET cursor = ?1, clock_offset_ms = ?2, last_sync_at = ?3,
                last_roster_at = ?4, school_name = ?5, revoked_at = NULL
             WHERE id = 1",
            params![
                pulled.cursor,
                clock_offset_ms,
                fmt_ts(synced_at),
                fmt_ts(pulled.server_time),
                pulled.school.name,
            ],
        )?;
        tx.commit()?;
        Ok(ApplySummary {
            roster_changes: pulled.roster.len() as u64,
            roster_active: self.roster_active()?,
            keys,
            slots,
        })
    }
}

/// Inserts or updates one roster entry. A card moves with its latest entry: whoever held
/// it before loses it, so the UNIQUE constraint on card_uid never trips on a re-binding.
fn upsert_student(tx: &rusqlite::Transaction<'_>, entry: &RosterEntry) -> Result<(), StoreError> {
    let voucher = entry.voucher_id.to_string();
    let card = entry.card_uid.map(|c| c.to_string());
    let entitled = entry
        .entitled
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|_| StoreError::Corrupt("entitlement ranges do not serialize".into()))?;
    if let Some(card) = &card {
        tx.prepare_cached(
            "UPDATE roster SET card_uid = NULL WHERE card_uid = ?1 AND voucher_id <> ?2",
        )?
        .execute(params![card, voucher])?;
    }
    tx.prepare_cached(
        "INSERT INTO roster (voucher_id, student_name, class_label, card_uid, active, valid_until,
            valid_from, entitled, shift, alert)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (voucher_id) DO UPDATE SET
            student_name = excluded.student_name, class_label = excluded.class_label,
            card_uid = excluded.card_uid, active = excluded.active,
            valid_until = excluded.valid_until, valid_from = excluded.valid_from,
            entitled = excluded.entitled, shift = excluded.shift, alert = excluded.alert",
    )?
    .execute(params![
        voucher,
        entry.student_name,
        entry.class_label,
        card,
        entry.active,
        fmt_date(entry.valid_until),
        (entry.valid_from > Date::MIN).then(|| fmt_date(entry.valid_from)),
        entitled,
        entry.shift.map(Shift::get),
        entry.alert.as_ref().map(|a| a.as_str().to_owned()),
    ])?;
    Ok(())
}

/// Replaces the key set with the keys of a pull whose id matches the key.
fn replace_keys(tx: &rusqlite::Transaction<'_>, pulled: &SyncResponse) -> Result<u64, StoreError> {
    tx.execute("DELETE FROM keys", [])?;
    let mut stored = 0;
    for key in &pulled.keys {
        let mut check = KeySet::new();
        match check.insert_published(key) {
            Ok(kid) => {
                tx.prepare_cached("INSERT OR REPLACE INTO keys (kid, public_key) VALUES (?1, ?2)")?
                    .execute(params![
                        kid.to_string(),
                        key.public_key.to_ascii_lowercase()
                    ])?;
                stored += 1;
            }
            Err(error) => tracing::warn!(kid = %key.kid, %error, "ignoring a bad pass key"),
        }
    }
    Ok(stored)
}

/// Replaces the slots with those of a pull whose hours make sense.
fn replace_slots(tx: &rusqlite::Transaction<'_>, slots: &[MealSlot]) -> Result<u64, StoreError> {
    tx.execute("DELETE FROM slots", [])?;
    let mut stored = 0;
    for slot in slots {
        if slot.start_minute >= slot.end_minute || slot.end_minute > 24 * 60 {
            tracing::warn!(slot = %slot.name, "ignoring a meal slot with impossible hours");
            continue;
        }
        tx.prepare_cached(
            "INSERT OR REPLACE INTO slots (name, start_minute, end_minute, shift)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            slot.name,
            slot.start_minute,
            slot.end_minute,
            slot.shift.map(Shift::get)
        ])?;
        stored += 1;
    }
    Ok(stored)
}
