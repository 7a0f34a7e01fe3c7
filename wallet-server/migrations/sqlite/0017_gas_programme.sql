-- Issue 15: gas vouchers, the second programme (seed 002). The tables are those of any
-- monthly programme (a `programme` column), so a third one needs no new table.

-- A region's monthly norm and benefit, set by the integration role.
CREATE TABLE programme_norms (
    programme            TEXT NOT NULL CHECK (programme IN ('gas')),
    region               TEXT NOT NULL,
    norm_m3              REAL NOT NULL CHECK (norm_m3 > 0),
    benefit_tiyn_per_m3  INTEGER NOT NULL CHECK (benefit_tiyn_per_m3 > 0),
    updated_at           TEXT NOT NULL,
    PRIMARY KEY (programme, region)
);

-- A recipient of a month's list and their consent conversation of that month: one per
-- programme, person and month, so a list updated later messages only the new people.
CREATE TABLE programme_recipients (
    consent_id   TEXT PRIMARY KEY,
    programme    TEXT NOT NULL CHECK (programme IN ('gas')),
    iin          TEXT NOT NULL,
    month        TEXT NOT NULL,
    region       TEXT NOT NULL,
    full_name    TEXT NOT NULL,
    phone        TEXT,
    language     TEXT NOT NULL CHECK (language IN ('ru', 'kk')),
    state        TEXT NOT NULL CHECK (state IN
                     ('pending', 'reminded', 'agreed', 'refused', 'timed_out', 'no_phone')),
    created_at   TEXT NOT NULL,
    asked_at     TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    voucher_id   TEXT,
    CHECK ((state = 'no_phone') = (phone IS NULL)),
    UNIQUE (programme, iin, month)
);
CREATE INDEX programme_recipients_phone ON programme_recipients (phone, state, created_at);

-- A voucher per recipient and month; activated on a key (the personal account).
CREATE TABLE programme_vouchers (
    id                   TEXT PRIMARY KEY,
    programme            TEXT NOT NULL CHECK (programme IN ('gas')),
    iin                  TEXT NOT NULL,
    month                TEXT NOT NULL,
    region               TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('formed', 'activated', 'expired')),
    valid_until          TEXT NOT NULL,
    account              TEXT,
    formed_at            TEXT NOT NULL,
    activated_at         TEXT,
    updated_at           TEXT NOT NULL,
    volume_m3            REAL,
    norm_m3              REAL,
    benefit_tiyn_per_m3  INTEGER,
    discount_tiyn        INTEGER,
    CHECK ((state = 'activated') = (account IS NOT NULL)),
    UNIQUE (programme, iin, month)
);
-- One activated voucher per personal account and month, whoever activates it: of two
-- concurrent activations the second insert into this index fails.
CREATE UNIQUE INDEX programme_vouchers_one_per_key
    ON programme_vouchers (programme, month, account) WHERE state = 'activated';
CREATE INDEX programme_vouchers_iin ON programme_vouchers (iin);

-- The month's activated vouchers go to the provider as outbox kind `activations`. SQLite
-- cannot alter a CHECK constraint: the outbox is rebuilt (as in 0011).
CREATE TABLE outbox_new (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN
                         ('sms', 'report', 'complaint', 'notice', 'status', 'activations')),
    recipient        TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    sent_at          TEXT,
    locked_by        TEXT,
    locked_until     TEXT,
    last_error       TEXT
);
INSERT INTO outbox_new (id, kind, recipient, body, state, attempts, created_at,
                        next_attempt_at, sent_at, locked_by, locked_until, last_error)
    SELECT id, kind, recipient, body, state, attempts, created_at,
           next_attempt_at, sent_at, locked_by, locked_until, last_error
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient, kind);
