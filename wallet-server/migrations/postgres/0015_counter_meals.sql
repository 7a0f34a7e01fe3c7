-- The canteen counter (issue 19): manual meals (with the worker's reason), voided meals,
-- shifts of slots and classes, staff's alert line per student, and a per-school meal number
-- so terminals can pull the meals other terminals served.
--
-- The meal rule becomes one counted meal per student and day (was: per slot and day): the
-- order pays "by the number of students who received free meals" per day of the табель.
-- A meal voided before its month's approval gets status 'voided' (so it leaves every count
-- and frees the day); `void_kind` remembers what the void answered ('voided' or, after the
-- approval, 'adjustment').

ALTER TABLE meals DROP CONSTRAINT meals_method_check;
ALTER TABLE meals ADD CONSTRAINT meals_method_check CHECK (method IN ('qr', 'card', 'manual'));
ALTER TABLE meals DROP CONSTRAINT meals_status_check;
ALTER TABLE meals ADD CONSTRAINT meals_status_check
    CHECK (status IN ('accepted', 'duplicate', 'rejected', 'voided'));
ALTER TABLE meals
    ADD COLUMN manual_reason TEXT,
    ADD COLUMN worker TEXT,
    ADD COLUMN school_seq BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN voided_at TIMESTAMPTZ,
    ADD COLUMN void_reason TEXT,
    ADD COLUMN voided_by TEXT,
    ADD COLUMN void_kind TEXT CHECK (void_kind IN ('voided', 'adjustment')),
    ADD CONSTRAINT meals_manual_reason CHECK (method <> 'manual' OR manual_reason IS NOT NULL OR status = 'rejected');

-- One counted meal per student and day: a second slot's meal of the same day (possible under
-- the old rule) becomes a duplicate, the earliest stays.
UPDATE meals m SET status = 'duplicate', reason = 'already_ate'
    WHERE m.status = 'accepted' AND EXISTS (
        SELECT 1 FROM meals e WHERE e.student_iin = m.student_iin
        AND e.service_day = m.service_day AND e.status = 'accepted'
        AND (e.served_at < m.served_at
             OR (e.served_at = m.served_at AND e.event_id < m.event_id)));
DROP INDEX meals_one_billable;
CREATE UNIQUE INDEX meals_one_billable ON meals (student_iin, service_day)
    WHERE status = 'accepted';
CREATE INDEX meals_school_seq ON meals (school_bin, school_seq);

ALTER TABLE schools ADD COLUMN meals_seq BIGINT NOT NULL DEFAULT 0;

ALTER TABLE meal_slots ADD COLUMN shift SMALLINT CHECK (shift BETWEEN 1 AND 3);

CREATE TABLE class_shifts (
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    class_label  TEXT NOT NULL,
    shift        SMALLINT NOT NULL CHECK (shift BETWEEN 1 AND 3),
    PRIMARY KEY (school_bin, class_label)
);

CREATE TABLE student_alerts (
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    student_iin  TEXT NOT NULL,
    line         TEXT NOT NULL,
    set_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (school_bin, student_iin)
);
