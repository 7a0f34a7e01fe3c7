-- Issue 14, points 8 and 10.
--
-- (10) The console keeps the signed-in staff member's name from the identity provider's
-- claims, so an approved табель names its director (not a token subject).
ALTER TABLE console_sessions ADD COLUMN display_name TEXT;

-- (8) Statuses going back to NOBD (rejected list rows, consent outcomes) join the outbox as
-- kind `status`.
ALTER TABLE outbox
    DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check
        CHECK (kind IN ('sms', 'report', 'complaint', 'notice', 'status'));
-- The console shows a school's notices: found by recipient.
CREATE INDEX outbox_recipient ON outbox (recipient, kind);

-- (8) Corrections of a day's report to NOBD: version 1 stays in `daily_reports`; each later
-- version (late meals synced after the report was built) is kept here with its reason, and
-- sent once (its outbox id is derived from the day and the version).
CREATE TABLE daily_report_versions (
    report_date  DATE NOT NULL,
    version      BIGINT NOT NULL CHECK (version >= 2),
    body         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    built_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (report_date, version)
);
