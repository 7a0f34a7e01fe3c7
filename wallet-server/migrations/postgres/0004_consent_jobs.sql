-- Consent by SMS (one conversation per student, programme and school year), the durable job
-- table of the scheduler, and delivery leases on the outbox.

CREATE TABLE consent_requests (
    id                  UUID PRIMARY KEY,
    programme           TEXT NOT NULL CHECK (programme IN ('school_meals', 'gas')),
    student_iin         TEXT NOT NULL REFERENCES students (iin),
    school_bin          TEXT NOT NULL REFERENCES schools (bin),
    period_from         DATE NOT NULL,
    period_until        DATE NOT NULL,
    representative_iin  TEXT REFERENCES representatives (iin),
    phone               TEXT,
    language            TEXT NOT NULL CHECK (language IN ('ru', 'kk')),
    state               TEXT NOT NULL CHECK (state IN
                            ('pending', 'reminded', 'agreed', 'refused', 'timed_out', 'no_phone')),
    reason              TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    reminded_at         TIMESTAMPTZ,
    finished_at         TIMESTAMPTZ,
    voucher_id          UUID REFERENCES vouchers (id),
    CHECK ((state = 'no_phone') = (phone IS NULL))
);
-- One conversation per student, programme and school year; a `no_phone` record does not
-- block a later one when a number turns up.
CREATE UNIQUE INDEX consent_one_per_period
    ON consent_requests (programme, student_iin, period_from) WHERE state <> 'no_phone';
-- Replies are matched to the oldest open request of a phone.
CREATE INDEX consent_open_by_phone
    ON consent_requests (phone, created_at) WHERE state IN ('pending', 'reminded');
CREATE INDEX consent_student ON consent_requests (student_iin);

-- Due work. A job is claimed for a lease (`running` until `locked_until`); a job whose
-- process died is claimed again when the lease has passed. (kind, job_key) is unique, so
-- scheduling the same job twice is harmless.
CREATE TABLE jobs (
    id            UUID PRIMARY KEY,
    kind          TEXT NOT NULL,
    job_key       TEXT NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    locked_by     TEXT,
    locked_until  TIMESTAMPTZ,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    UNIQUE (kind, job_key)
);
CREATE INDEX jobs_due ON jobs (state, due_at);

-- A message being delivered is leased the same way.
ALTER TABLE outbox ADD COLUMN locked_by TEXT;
ALTER TABLE outbox ADD COLUMN locked_until TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
