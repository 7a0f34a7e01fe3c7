-- Tenant walls (issue 16). A meal is the terminal's: its event id is unique per terminal, not
-- across all schools, so one school's terminal can never reach another's stored answer by
-- reusing an id. SQLite cannot change a primary key in place, so `meals` is rebuilt.

-- Before the wall, a terminal pushing another school's voucher id had a rejected row stored
-- against that voucher (shown in the other school's parent's history, and with that school's
-- student on this school's excluded list). Such rows were never billed; they go.
DELETE FROM off_day_confirmations WHERE event_id IN (
    SELECT m.event_id FROM meals m JOIN vouchers v ON v.id = m.voucher_id
    WHERE m.school_bin <> v.school_bin);

-- A confirmation is the school's, for its meal(s) with that event id.
CREATE TABLE off_day_confirmations_walled (
    event_id      TEXT NOT NULL,
    school_bin    TEXT NOT NULL REFERENCES schools (bin),
    confirmed_at  TEXT NOT NULL,
    confirmed_by  TEXT NOT NULL,
    PRIMARY KEY (school_bin, event_id)
);
INSERT INTO off_day_confirmations_walled (event_id, school_bin, confirmed_at, confirmed_by)
    SELECT event_id, school_bin, confirmed_at, confirmed_by FROM off_day_confirmations;
DROP TABLE off_day_confirmations;
ALTER TABLE off_day_confirmations_walled RENAME TO off_day_confirmations;

CREATE TABLE meals_walled (
    terminal_id  TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    voucher_id   TEXT NOT NULL REFERENCES vouchers (id),
    student_iin  TEXT NOT NULL,
    school_bin   TEXT NOT NULL,
    service_day  TEXT NOT NULL,
    slot         TEXT NOT NULL,
    served_at    TEXT NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('qr', 'card')),
    status       TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
    reason       TEXT,
    received_at  TEXT NOT NULL,
    pass_nonce   TEXT,
    PRIMARY KEY (terminal_id, event_id)
);
-- Meals from before terminals had ids (none in production) belong to the nil terminal.
INSERT INTO meals_walled (terminal_id, event_id, voucher_id, student_iin, school_bin, service_day,
        slot, served_at, method, status, reason, received_at, pass_nonce)
    SELECT COALESCE(m.terminal_id, '00000000-0000-0000-0000-000000000000'), m.event_id,
        m.voucher_id, m.student_iin, m.school_bin, m.service_day, m.slot, m.served_at, m.method,
        m.status, m.reason, m.received_at, m.pass_nonce
    FROM meals m JOIN vouchers v ON v.id = m.voucher_id
    WHERE m.school_bin = v.school_bin;
DROP TABLE meals;
ALTER TABLE meals_walled RENAME TO meals;

CREATE INDEX meals_voucher ON meals (voucher_id, served_at);
CREATE INDEX meals_school_day ON meals (school_bin, service_day);
-- The school's references to a meal (the director's confirmation, the табель's lists).
CREATE INDEX meals_school_event ON meals (school_bin, event_id);
CREATE UNIQUE INDEX meals_one_billable ON meals (student_iin, service_day, slot)
    WHERE status = 'accepted';
CREATE INDEX meals_school_received ON meals (school_bin, received_at);
CREATE INDEX meals_day_school ON meals (service_day, school_bin, status, student_iin);
