//! The schema of the terminal's database and its migrations, versioned with
//! `PRAGMA user_version`: migration *n* brings version *n* to *n + 1*. Migrations only ever
//! get appended; each runs in one transaction together with the version bump, so a crash
//! mid-migration leaves the previous version intact.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE state (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        server_url      TEXT,
        school_bin      TEXT,
        school_name     TEXT,
        terminal_id     TEXT,
        device_token    TEXT,
        cursor          INTEGER NOT NULL DEFAULT 0,
        clock_offset_ms INTEGER NOT NULL DEFAULT 0,
        last_sync_at    TEXT,
        last_roster_at  TEXT,
        revoked_at      TEXT
    );
    INSERT INTO state (id) VALUES (1);

    CREATE TABLE roster (
        voucher_id   TEXT PRIMARY KEY,
        student_name TEXT NOT NULL,
        class_label  TEXT NOT NULL,
        card_uid     TEXT UNIQUE,
        active       INTEGER NOT NULL,
        valid_until  TEXT NOT NULL
    );

    CREATE TABLE keys (
        kid        TEXT PRIMARY KEY,
        public_key TEXT NOT NULL
    );

    CREATE TABLE slots (
        name         TEXT PRIMARY KEY,
        start_minute INTEGER NOT NULL,
        end_minute   INTEGER NOT NULL
    );

    CREATE TABLE meals (
        event_id      TEXT PRIMARY KEY,
        voucher_id    TEXT NOT NULL,
        service_day   TEXT NOT NULL,
        slot          TEXT NOT NULL,
        served_at     TEXT NOT NULL,
        method        TEXT NOT NULL CHECK (method IN ('qr', 'card')),
        pass_nonce    TEXT,
        student_name  TEXT NOT NULL,
        class_label   TEXT NOT NULL,
        pushed_at     TEXT,
        server_status TEXT CHECK (server_status IN ('accepted', 'duplicate', 'rejected')),
        server_reason TEXT
    );
    -- The meal rule, enforced by the database: a racing second insert fails.
    CREATE UNIQUE INDEX meals_one_per_slot ON meals (voucher_id, service_day, slot);
    -- The push queue: only unsent meals, in event id (UUIDv7, time) order.
    CREATE INDEX meals_unsent ON meals (event_id) WHERE pushed_at IS NULL;
    -- Today's count on screen.
    CREATE INDEX meals_by_day ON meals (service_day);
    ",
    // 2: decide by date offline — the first day of validity (NULL: none) and the days on
    // the school's monthly lists (JSON ranges; NULL: the server sent none).
    "
    ALTER TABLE roster ADD COLUMN valid_from TEXT;
    ALTER TABLE roster ADD COLUMN entitled TEXT;
    ",
    // 3: the counter (issue 19). Shifts and the alert line on the roster, shifts on slots;
    // meals rebuilt in place (SQLite cannot widen a CHECK) keeping every row, unsent ones
    // included: method `manual` with its reason, the worker, whether the meal was ever
    // shown, and the terminal's void of it; meals other terminals served, refused scans
    // waiting to be pushed, the worker signed in, the meals cursor and today's progress.
    "
    ALTER TABLE roster ADD COLUMN shift INTEGER;
    ALTER TABLE roster ADD COLUMN alert TEXT;
    ALTER TABLE slots ADD COLUMN shift INTEGER;

    CREATE TABLE meals_v3 (
        event_id      TEXT PRIMARY KEY,
        voucher_id    TEXT NOT NULL,
        service_day   TEXT NOT NULL,
        slot          TEXT NOT NULL,
        served_at     TEXT NOT NULL,
        method        TEXT NOT NULL CHECK (method IN ('qr', 'card', 'manual')),
        pass_nonce    TEXT,
        student_name  TEXT NOT NULL,
        class_label   TEXT NOT NULL,
        pushed_at     TEXT,
        server_status TEXT CHECK (server_status IN ('accepted', 'duplicate', 'rejected')),
        server_reason TEXT,
        manual_reason TEXT,
        worker        TEXT,
        -- 0 until the worker has seen it; meals from before this version were.
        shown         INTEGER NOT NULL DEFAULT 0,
        voided_at     TEXT,
        void_reason   TEXT,
        void_worker   TEXT,
        void_pushed_at TEXT,
        void_status   TEXT,
        void_server_reason TEXT,
        CHECK ((method = 'manual') = (manual_reason IS NOT NULL))
    );
    INSERT INTO meals_v3 (event_id, voucher_id, service_day, slot, served_at, method,
        pass_nonce, student_name, class_label, pushed_at, server_status, server_reason, shown)
    SELECT event_id, voucher_id, service_day, slot, served_at, method,
        pass_nonce, student_name, class_label, pushed_at, server_status, server_reason, 1
    FROM meals;
    DROP TABLE meals;
    ALTER TABLE meals_v3 RENAME TO meals;
    -- The meal rule: one meal per voucher, day and slot that was not taken back.
    CREATE UNIQUE INDEX meals_one_per_slot ON meals (voucher_id, service_day, slot)
        WHERE voided_at IS NULL;
    CREATE INDEX meals_unsent ON meals (event_id) WHERE pushed_at IS NULL;
    CREATE INDEX meals_by_day ON meals (service_day);
    CREATE INDEX meals_void_unsent ON meals (event_id)
        WHERE voided_at IS NOT NULL AND void_pushed_at IS NULL;

    CREATE TABLE meals_seen (
        voucher_id  TEXT NOT NULL,
        service_day TEXT NOT NULL,
        slot        TEXT NOT NULL,
        served_at   TEXT NOT NULL,
        terminal    TEXT NOT NULL,
        method      TEXT NOT NULL,
        PRIMARY KEY (voucher_id, service_day, slot, terminal)
    );

    CREATE TABLE denials (
        event_id   TEXT PRIMARY KEY,
        at         TEXT NOT NULL,
        reason     TEXT NOT NULL,
        method     TEXT NOT NULL,
        voucher_id TEXT,
        pass_nonce TEXT,
        card_uid   TEXT,
        pushed_at  TEXT
    );
    CREATE INDEX denials_unsent ON denials (event_id) WHERE pushed_at IS NULL;

    ALTER TABLE state ADD COLUMN worker TEXT;
    ALTER TABLE state ADD COLUMN meals_cursor INTEGER;
    ALTER TABLE state ADD COLUMN progress TEXT;
    ",
];

/// The schema version this program writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`VERSION`]; does nothing when it is there already.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            found,
            known: VERSION,
        });
    }
    let start = usize::try_from(found).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tracing::info!(version = index + 1, "database schema migrated");
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_one_roster_keeps_its_students_and_learns_dates() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(MIGRATIONS[0]).expect("version 1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        conn.execute(
            "INSERT INTO roster (voucher_id, student_name, class_label, active, valid_until)
             VALUES ('v', 'Аружан', '2А', 1, '2027-05-31')",
            [],
        )
        .expect("an old roster row");
        migrate(&mut conn).expect("migrate");
        let (name, from, entitled): (String, Option<String>, Option<String>) = conn
            .query_row(
                "SELECT student_name, valid_from, entitled FROM roster",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("row");
        assert_eq!(name, "Аружан");
        assert_eq!(
            (from, entitled),
            (None, None),
            "no dates: validity alone decides"
        );
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, VERSION);
    }

    /// A terminal in the field upgrades with meals still waiting for the server: the
    /// rebuild of `meals` keeps every row, unsent ones stay queued (and count as shown).
    #[test]
    fn a_version_two_terminal_keeps_its_unsent_meals() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(MIGRATIONS[0]).expect("version 1");
        conn.execute_batch(MIGRATIONS[1]).expect("version 2");
        conn.pragma_update(None, "user_version", 2)
            .expect("version");
        for (id, pushed) in [
            ("e1", None),
            ("e2", Some("2026-09-01T07:00:00Z")),
            ("e3", None),
        ] {
            conn.execute(
                "INSERT INTO meals (event_id, voucher_id, service_day, slot, served_at, method,
                    student_name, class_label, pushed_at)
                 VALUES (?1, ?1, '2026-09-01', 'day', '2026-09-01T06:00:00Z', 'card', 'А', '1А', ?2)",
                rusqlite::params![id, pushed],
            )
            .expect("an old meal");
        }
        migrate(&mut conn).expect("migrate");
        let unsent: Vec<(String, bool)> = conn
            .prepare("SELECT event_id, shown FROM meals WHERE pushed_at IS NULL ORDER BY event_id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(unsent, [("e1".into(), true), ("e3".into(), true)]);
        let manual_without_reason = conn.execute(
            "INSERT INTO meals (event_id, voucher_id, service_day, slot, served_at, method,
                student_name, class_label) VALUES ('m', 'v', '2026-09-01', 'day', 't', 'manual', 'А', '1А')",
            [],
        );
        assert!(
            manual_without_reason.is_err(),
            "a manual meal needs its reason"
        );
        let duplicate = conn.execute(
            "INSERT INTO meals (event_id, voucher_id, service_day, slot, served_at, method,
                student_name, class_label) VALUES ('x', 'e1', '2026-09-01', 'day', 't', 'qr', 'А', '1А')",
            [],
        );
        assert!(duplicate.is_err(), "the meal rule still holds");
    }
}
