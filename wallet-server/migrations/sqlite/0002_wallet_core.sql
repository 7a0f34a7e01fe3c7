-- Wallet core: monthly eligibility lists, card bindings, terminal enrollment codes, meals
-- (filled by terminal sync), feedback, and the outbox of outgoing messages.

CREATE TABLE eligibility_lists (
    id            TEXT PRIMARY KEY,
    school_bin    TEXT NOT NULL REFERENCES schools (bin),
    programme     TEXT NOT NULL,
    period        TEXT NOT NULL CHECK (length(period) = 7),
    received_at   TEXT NOT NULL,
    received_by   TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    rows_total    INTEGER NOT NULL,
    rows_accepted INTEGER NOT NULL
);
CREATE INDEX eligibility_lists_school ON eligibility_lists (school_bin, programme, period, received_at);

-- Who is on the current list of a school for a period; one school per student and period.
CREATE TABLE eligibility_entries (
    programme    TEXT NOT NULL,
    period       TEXT NOT NULL,
    student_iin  TEXT NOT NULL REFERENCES students (iin),
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    list_id      TEXT NOT NULL REFERENCES eligibility_lists (id),
    status       TEXT NOT NULL CHECK (status IN ('voucher_formed', 'awaiting_consent')),
    voucher_id   TEXT REFERENCES vouchers (id),
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (programme, period, student_iin)
);
CREATE INDEX eligibility_entries_school ON eligibility_entries (school_bin, programme, period);

CREATE TABLE cards (
    card_uid     TEXT PRIMARY KEY CHECK (length(card_uid) = 10),
    student_iin  TEXT NOT NULL UNIQUE REFERENCES students (iin),
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    bound_at     TEXT NOT NULL,
    bound_by     TEXT NOT NULL
);
CREATE INDEX cards_school ON cards (school_bin);

CREATE TABLE enrollment_codes (
    code_hash    TEXT PRIMARY KEY,
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT
);

CREATE TABLE meals (
    event_id     TEXT PRIMARY KEY,
    voucher_id   TEXT NOT NULL REFERENCES vouchers (id),
    student_iin  TEXT NOT NULL,
    school_bin   TEXT NOT NULL,
    terminal_id  TEXT,
    service_day  TEXT NOT NULL,
    slot         TEXT NOT NULL,
    served_at    TEXT NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('qr', 'card')),
    status       TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
    reason       TEXT,
    received_at  TEXT NOT NULL
);
CREATE INDEX meals_voucher ON meals (voucher_id, served_at);
CREATE INDEX meals_school_day ON meals (school_bin, service_day);

CREATE TABLE feedback (
    id                  TEXT PRIMARY KEY,
    voucher_id          TEXT NOT NULL REFERENCES vouchers (id),
    representative_iin  TEXT NOT NULL,
    rating              INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    complaint           TEXT,
    created_at          TEXT NOT NULL
);
CREATE INDEX feedback_voucher ON feedback (voucher_id);

CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('sms', 'report', 'complaint')),
    recipient        TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
