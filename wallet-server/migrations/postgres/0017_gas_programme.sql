-- Issue 15: gas vouchers, the second programme (seed 002). The tables are those of any
-- monthly programme (a `programme` column), so a third one needs no new table.

-- A region's monthly norm and benefit, set by the integration role.
CREATE TABLE programme_norms (
    programme            TEXT NOT NULL CHECK (programme IN ('gas')),
    region               TEXT NOT NULL,
    norm_m3              DOUBLE PRECISION NOT NULL CHECK (norm_m3 > 0),
    benefit_tiyn_per_m3  BIGINT NOT NULL CHECK (benefit_tiyn_per_m3 > 0),
    updated_at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (programme, region)
);

-- A recipient of a month's list and their consent conversation of that month: one per
-- programme, person and month, so a list updated later messages only the new people.
CREATE TABLE programme_recipients (
    consent_id   UUID PRIMARY KEY,
    programme    TEXT NOT NULL CHECK (programme IN ('gas')),
    iin          TEXT NOT NULL,
    month        TEXT NOT NULL,
    region       TEXT NOT NULL,
    full_name    TEXT NOT NULL,
    phone        TEXT,
    language     TEXT NOT NULL CHECK (language IN ('ru', 'kk')),
    state        TEXT NOT NULL CHECK (state IN
                     ('pending', 'reminded', 'agreed', 'refused', 'timed_out', 'no_phone')),
    created_at   TIMESTAMPTZ NOT NULL,
    asked_at     TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    voucher_id   UUID,
    CHECK ((state = 'no_phone') = (phone IS NULL)),
    UNIQUE (programme, iin, month)
);
CREATE INDEX programme_recipients_phone ON programme_recipients (phone, state, created_at);

-- A voucher per recipient and month; activated on a key (the personal account).
CREATE TABLE programme_vouchers (
    id                   UUID PRIMARY KEY,
    programme            TEXT NOT NULL CHECK (programme IN ('gas')),
    iin                  TEXT NOT NULL,
    month                TEXT NOT NULL,
    region               TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('formed', 'activated', 'expired')),
    valid_until          DATE NOT NULL,
    account              TEXT,
    formed_at            TIMESTAMPTZ NOT NULL,
    activated_at         TIMESTAMPTZ,
    updated_at           TIMESTAMPTZ NOT NULL,
    volume_m3            DOUBLE PRECISION,
    norm_m3              DOUBLE PRECISION,
    benefit_tiyn_per_m3  BIGINT,
    discount_tiyn        BIGINT,
    CHECK ((state = 'activated') = (account IS NOT NULL)),
    UNIQUE (programme, iin, month)
);
-- One activated voucher per personal account and month, whoever activates it: of two
-- concurrent activations the second insert into this index fails.
CREATE UNIQUE INDEX programme_vouchers_one_per_key
    ON programme_vouchers (programme, month, account) WHERE state = 'activated';
CREATE INDEX programme_vouchers_iin ON programme_vouchers (iin);

-- The month's activated vouchers go to the provider as outbox kind `activations`.
ALTER TABLE outbox
    DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check
        CHECK (kind IN ('sms', 'report', 'complaint', 'notice', 'status', 'activations'));
