-- Notices to school staff (the табель is ready / not yet approved) join the outbox as kind
-- `notice`, and the daily report's per-school meal counts get an index of their own.

ALTER TABLE outbox
    DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('sms', 'report', 'complaint', 'notice'));

-- The daily report counts a day's meals per school and status (and distinct students fed)
-- from the index alone.
CREATE INDEX meals_day_school ON meals (service_day, school_bin, status, student_iin);
