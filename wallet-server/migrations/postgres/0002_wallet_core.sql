-- Wallet core: monthly eligibility lists, card bindings, terminal enrollment codes, meals
-- (filled by terminal sync), feedback, and the outbox of outgoing messages.

CREATE TABLE eligibility_lists (
    id            UUID PRIMARY KEY,
    school_bin    TEXT NOT NULL REFERENCES schools (bin),
    programme     TEXT NOT NULL,
    period        TEXT NOT NULL CHECK (length(period) = 7),
    received_at   TIMESTAMPTZ NOT NULL,
    received_by   TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    rows_total    BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL
);
CREATE INDEX eligibility_lists_school ON eligibility_lists (school_bin, programme, period, received_at);

-- Who is on the current list of a school for a period; one school per student and period.
CREATE TABLE eligibility_entries (
    programme    TEXT NOT NULL,
    period       TEXT NOT NULL,
    student_iin  TEXT NOT NULL REFERENCES students (iin),
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    list_id      UUID NOT NULL REFERENCES eligibility_lists (id),
    status       TEXT NOT NULL CHECK (status IN ('voucher_formed', 'awaiting_consent')),
    voucher_id   UUID REFERENCES vouchers (id),
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (programme, period, student_iin)
);
CREATE INDEX eligibility_entries_school ON eligibility_entries (school_bin, programme, period);

CREATE TABLE cards (
    card_uid     TEXT PRIMARY KEY CHECK (length(card_uid) = 10),
    student_iin  TEXT NOT NULL UNIQUE REFERENCES students (iin),
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    bound_at     TIMESTAMPTZ NOT NULL,
    bound_by     TEXT NOT NULL
);
CREATE INDEX cards_school ON cards (school_bin);

CREATE TABLE enrollment_codes (
    code_hash    TEXT PRIMARY KEY,
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);

CREATE TABLE meals (
    event_id     UUID PRIMARY KEY,
    voucher_id   UUID NOT NULL REFERENCES vouchers (id),
    student_iin  TEXT NOT NULL,
    school_bin   TEXT NOT NULL,
    terminal_id  TEXT,
    service_day  DATE NOT NULL,
    slot         TEXT NOT NULL,
    served_at    TIMESTAMPTZ NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('qr', 'card')),
    status       TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
    reason       TEXT,
    received_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX meals_voucher ON meals (voucher_id, served_at);
CREATE INDEX meals_school_day ON meals (school_bin, service_day);

CREATE TABLE feedback (
    id                  UUID PRIMARY KEY,
    voucher_id          UUID NOT NULL REFERENCES vouchers (id),
    representative_iin  TEXT NOT NULL,
    rating              SMALLINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    complaint           TEXT,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX feedback_voucher ON feedback (voucher_id);

CREATE TABLE outbox (
    id               UUID PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('sms', 'report', 'complaint')),
    recipient        TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
