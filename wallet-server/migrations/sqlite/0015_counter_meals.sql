-- The canteen counter (issue 19): manual meals (with the worker's reason), voided meals,
-- shifts of slots and classes, staff's alert line per student, and a per-school meal number
-- so terminals can pull the meals other terminals served.
--
-- The meal rule becomes one counted meal per student and day (was: per slot and day): the
-- order pays "by the number of students who received free meals" per day of the табель.
-- A meal voided before its month's approval gets status 'voided' (so it leaves every count
-- and frees the day); `void_kind` remembers what the void answered ('voided' or, after the
-- approval, 'adjustment').

CREATE TABLE meals_counter (
    terminal_id    TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    voucher_id     TEXT NOT NULL REFERENCES vouchers (id),
    student_iin    TEXT NOT NULL,
    school_bin     TEXT NOT NULL,
    service_day    TEXT NOT NULL,
    slot           TEXT NOT NULL,
    served_at      TEXT NOT NULL,
    method         TEXT NOT NULL CHECK (method IN ('qr', 'card', 'manual')),
    status         TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected', 'voided')),
    reason         TEXT,
    received_at    TEXT NOT NULL,
    pass_nonce     TEXT,
    manual_reason  TEXT,
    worker         TEXT,
    school_seq     INTEGER NOT NULL DEFAULT 0,
    voided_at      TEXT,
    void_reason    TEXT,
    voided_by      TEXT,
    void_kind      TEXT CHECK (void_kind IN ('voided', 'adjustment')),
    PRIMARY KEY (terminal_id, event_id),
    CHECK (method <> 'manual' OR manual_reason IS NOT NULL OR status = 'rejected')
);
INSERT INTO meals_counter (terminal_id, event_id, voucher_id, student_iin, school_bin, service_day,
        slot, served_at, method, status, reason, received_at, pass_nonce)
    SELECT terminal_id, event_id, voucher_id, student_iin, school_bin, service_day, slot,
        served_at, method, status, reason, received_at, pass_nonce
    FROM meals;
DROP TABLE meals;
ALTER TABLE meals_counter RENAME TO meals;

-- One counted meal per student and day: a second slot's meal of the same day (possible under
-- the old rule) becomes a duplicate, the earliest stays.
UPDATE meals SET status = 'duplicate', reason = 'already_ate'
    WHERE status = 'accepted' AND EXISTS (
        SELECT 1 FROM meals e WHERE e.student_iin = meals.student_iin
        AND e.service_day = meals.service_day AND e.status = 'accepted'
        AND (e.served_at < meals.served_at
             OR (e.served_at = meals.served_at AND e.event_id < meals.event_id)));

CREATE INDEX meals_voucher ON meals (voucher_id, served_at);
CREATE INDEX meals_school_day ON meals (school_bin, service_day);
CREATE INDEX meals_school_event ON meals (school_bin, event_id);
CREATE UNIQUE INDEX meals_one_billable ON meals (student_iin, service_day)
    WHERE status = 'accepted';
CREATE INDEX meals_school_received ON meals (school_bin, received_at);
CREATE INDEX meals_day_school ON meals (service_day, school_bin, status, student_iin);
CREATE INDEX meals_school_seq ON meals (school_bin, school_seq);

ALTER TABLE schools ADD COLUMN meals_seq INTEGER NOT NULL DEFAULT 0;

ALTER TABLE meal_slots ADD COLUMN shift INTEGER CHECK (shift BETWEEN 1 AND 3);

CREATE TABLE class_shifts (
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    class_label  TEXT NOT NULL,
    shift        INTEGER NOT NULL CHECK (shift BETWEEN 1 AND 3),
    PRIMARY KEY (school_bin, class_label)
);

CREATE TABLE student_alerts (
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    student_iin  TEXT NOT NULL,
    line         TEXT NOT NULL,
    set_at       TEXT NOT NULL,
    PRIMARY KEY (school_bin, student_iin)
);
