-- Consent by SMS (one conversation per student, programme and school year), the durable job
-- table of the scheduler, and delivery leases on the outbox.

CREATE TABLE consent_requests (
    id                  TEXT PRIMARY KEY,
    programme           TEXT NOT NULL CHECK (programme IN ('school_meals', 'gas')),
    student_iin         TEXT NOT NULL REFERENCES students (iin),
    school_bin          TEXT NOT NULL REFERENCES schools (bin),
    period_from         TEXT NOT NULL,
    period_until        TEXT NOT NULL,
    representative_iin  TEXT REFERENCES representatives (iin),
    phone               TEXT,
    language            TEXT NOT NULL CHECK (language IN ('ru', 'kk')),
    state               TEXT NOT NULL CHECK (state IN
                            ('pending', 'reminded', 'agreed', 'refused', 'timed_out', 'no_phone')),
    reason              TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    reminded_at         TEXT,
    finished_at         TEXT,
    voucher_id          TEXT REFERENCES vouchers (id),
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
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    job_key       TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    locked_by     TEXT,
    locked_until  TEXT,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    finished_at   TEXT,
    UNIQUE (kind, job_key)
);
CREATE INDEX jobs_due ON jobs (state, due_at);

-- A message being delivered is leased the same way.
ALTER TABLE outbox ADD COLUMN locked_by TEXT;
ALTER TABLE outbox ADD COLUMN locked_until TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
