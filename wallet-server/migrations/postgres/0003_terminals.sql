-- Canteen terminals: enrollment, device tokens, roster cursors, meal slots, the meal rule.

CREATE TABLE terminals (
    id             UUID PRIMARY KEY,
    school_bin     TEXT NOT NULL REFERENCES schools (bin),
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    enrolled_at    TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    last_seen_at   TIMESTAMPTZ,
    last_push_at   TIMESTAMPTZ,
    unsent_reported BIGINT
);
CREATE INDEX terminals_school ON terminals (school_bin);

ALTER TABLE enrollment_codes ADD COLUMN terminal_id UUID;

-- Roster changes are numbered per school, in commit order (the school row is the lock).
ALTER TABLE schools ADD COLUMN roster_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE vouchers ADD COLUMN roster_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX vouchers_roster ON vouchers (school_bin, roster_seq);

CREATE TABLE meal_slots (
    school_bin    TEXT NOT NULL REFERENCES schools (bin),
    name          TEXT NOT NULL,
    start_minute  SMALLINT NOT NULL,
    end_minute    SMALLINT NOT NULL,
    PRIMARY KEY (school_bin, name),
    CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440)
);

ALTER TABLE meals ADD COLUMN pass_nonce TEXT;
-- The meal rule: at most one billable meal per student, service day and slot.
CREATE UNIQUE INDEX meals_one_billable ON meals (student_iin, service_day, slot)
    WHERE status = 'accepted';
ALTER TABLE meals ALTER COLUMN terminal_id TYPE UUID USING terminal_id::uuid;
