-- Month-scoped entitlement (domain::entitlement): the days a student may eat at a school,
-- one row per student, school and month, written when a list arrives. The roster, the push
-- judge and the табель read these ranges; nobody recomputes the rule elsewhere.
CREATE TABLE entitlements (
    programme    TEXT NOT NULL,
    student_iin  TEXT NOT NULL REFERENCES students (iin),
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    month        TEXT NOT NULL CHECK (length(month) = 7),
    source       TEXT NOT NULL CHECK (source IN ('list', 'carry_over')),
    first_day    DATE NOT NULL,
    last_day     DATE NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (programme, student_iin, school_bin, month),
    CHECK (first_day <= last_day)
);
CREATE INDEX entitlements_school ON entitlements (school_bin, programme, month);

-- Lists received before this table existed entitle their students for their whole month.
INSERT INTO entitlements (programme, student_iin, school_bin, month, source, first_day, last_day, updated_at)
SELECT programme, student_iin, school_bin, period, 'list',
       to_date(period || '-01', 'YYYY-MM-DD'),
       (to_date(period || '-01', 'YYYY-MM-DD') + INTERVAL '1 month' - INTERVAL '1 day')::date,
       updated_at
FROM eligibility_entries;
