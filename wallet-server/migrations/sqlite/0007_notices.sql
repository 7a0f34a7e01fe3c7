-- Notices to school staff (the табель is ready / not yet approved) join the outbox as kind
-- `notice`, and the daily report's per-school meal counts get an index of their own.
--
-- SQLite cannot alter a CHECK constraint: the outbox is rebuilt with the wider one (same
-- columns, same rows), then its index is recreated. Nothing references the outbox.

CREATE TABLE outbox_new (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('sms', 'report', 'complaint', 'notice')),
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

-- The daily report counts a day's meals per school and status (and distinct students fed)
-- from the index alone.
CREATE INDEX meals_day_school ON meals (service_day, school_bin, status, student_iin);
