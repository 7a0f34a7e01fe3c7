-- Canteen terminals: enrollment, device tokens, roster cursors, meal slots, the meal rule.

CREATE TABLE terminals (
    id             TEXT PRIMARY KEY,
    school_bin     TEXT NOT NULL REFERENCES schools (bin),
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    enrolled_at    TEXT NOT NULL,
    revoked_at     TEXT,
    last_seen_at   TEXT,
    last_push_at   TEXT,
    unsent_reported INTEGER
);
CREATE INDEX terminals_school ON terminals (school_bin);

ALTER TABLE enrollment_codes ADD COLUMN terminal_id TEXT;

-- Roster changes are numbered per school, in commit order (the school row is the lock).
ALTER TABLE schools ADD COLUMN roster_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vouchers ADD COLUMN roster_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX vouchers_roster ON vouchers (school_bin, roster_seq);

CREATE TABLE meal_slots (
    school_bin    TEXT NOT NULL REFERENCES schools (bin),
    name          TEXT NOT NULL,
    start_minute  INTEGER NOT NULL,
    end_minute    INTEGER NOT NULL,
    PRIMARY KEY (school_bin, name),
    CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440)
);

ALTER TABLE meals ADD COLUMN pass_nonce TEXT;
-- The meal rule: at most one billable meal per student, service day and slot.
CREATE UNIQUE INDEX meals_one_billable ON meals (student_iin, service_day, slot)
    WHERE status = 'accepted';
