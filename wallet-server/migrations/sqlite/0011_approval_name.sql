-- Issue 14, points 8 and 10.
--
-- (10) The console keeps the signed-in staff member's name from the identity provider's
-- claims, so an approved табель names its director (not a token subject).
ALTER TABLE console_sessions ADD COLUMN display_name TEXT;

-- (8) Statuses going back to NOBD (rejected list rows, consent outcomes) join the outbox as
-- kind `status`. SQLite cannot alter a CHECK constraint: the outbox is rebuilt with the wider
-- one (same columns, same rows), then its index is recreated. Nothing references the outbox.
CREATE TABLE outbox_new (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('sms', 'report', 'complaint', 'notice', 'status')),
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
-- The console shows a school's notices: found by recipient.
CREATE INDEX outbox_recipient ON outbox (recipient, kind);

-- (8) Corrections of a day's report to NOBD: version 1 stays in `daily_reports`; each later
-- version (late meals synced after the report was built) is kept here with its reason, and
-- sent once (its outbox id is derived from the day and the version).
CREATE TABLE daily_report_versions (
    report_date  TEXT NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 2),
    body         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    built_at     TEXT NOT NULL,
    PRIMARY KEY (report_date, version)
);
