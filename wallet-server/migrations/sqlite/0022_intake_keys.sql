-- Fewer foreign-key checks per listed student; see the PostgreSQL migration of the same
-- number for why. SQLite cannot change a table's keys, so both tables are rebuilt.
--
-- An entry's list and school are one key: the entry must name its own list's school.
CREATE UNIQUE INDEX eligibility_lists_id_school ON eligibility_lists (id, school_bin);

CREATE TABLE eligibility_entries_new (
    programme    TEXT NOT NULL,
    period       TEXT NOT NULL,
    student_iin  TEXT NOT NULL REFERENCES students (iin),
    school_bin   TEXT NOT NULL,
    list_id      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('voucher_formed', 'awaiting_consent')),
    voucher_id   TEXT REFERENCES vouchers (id),
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (programme, period, student_iin),
    FOREIGN KEY (list_id, school_bin) REFERENCES eligibility_lists (id, school_bin)
);
INSERT INTO eligibility_entries_new (programme, period, student_iin, school_bin, list_id,
    status, voucher_id, updated_at)
SELECT programme, period, student_iin, school_bin, list_id, status, voucher_id, updated_at
FROM eligibility_entries;
DROP TABLE eligibility_entries;
ALTER TABLE eligibility_entries_new RENAME TO eligibility_entries;
CREATE INDEX eligibility_entries_school ON eligibility_entries (school_bin, programme, period);

-- Entitlements are derived rows selected from eligibility_entries (see the PostgreSQL
-- migration): no keys of their own.
CREATE TABLE entitlements_new (
    programme    TEXT NOT NULL,
    student_iin  TEXT NOT NULL,
    school_bin   TEXT NOT NULL,
    month        TEXT NOT NULL CHECK (length(month) = 7),
    source       TEXT NOT NULL CHECK (source IN ('list', 'carry_over')),
    first_day    TEXT NOT NULL,
    last_day     TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (programme, student_iin, school_bin, month),
    CHECK (first_day <= last_day)
);
INSERT INTO entitlements_new SELECT programme, student_iin, school_bin, month, source,
    first_day, last_day, updated_at FROM entitlements;
DROP TABLE entitlements;
ALTER TABLE entitlements_new RENAME TO entitlements;
CREATE INDEX entitlements_school ON entitlements (school_bin, programme, month);
