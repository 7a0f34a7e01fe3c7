-- Each stored version of a day's report to NOBD, one row per school: the console's Reports
-- page reads a school's 30 days in one query instead of parsing 30 whole-country bodies.
-- Written from the body in the same transaction as the body (store/sql/reports.rs).

CREATE TABLE daily_report_figures (
    school_bin          TEXT NOT NULL,
    report_date         DATE NOT NULL,
    version             BIGINT NOT NULL CHECK (version >= 1),
    vouchers_formed     BIGINT NOT NULL,
    vouchers_activated  BIGINT NOT NULL,
    vouchers_revoked    BIGINT NOT NULL,
    meals_served        BIGINT NOT NULL,
    duplicates          BIGINT NOT NULL,
    students_fed        BIGINT NOT NULL,
    PRIMARY KEY (school_bin, report_date, version)
);

INSERT INTO daily_report_figures
SELECT s.value ->> 'bin', r.report_date, 1,
       CAST(s.value ->> 'vouchers_formed' AS BIGINT), CAST(s.value ->> 'vouchers_activated' AS BIGINT),
       CAST(s.value ->> 'vouchers_revoked' AS BIGINT), CAST(s.value ->> 'meals_served' AS BIGINT),
       CAST(s.value ->> 'duplicates' AS BIGINT), CAST(s.value ->> 'students_fed' AS BIGINT)
FROM daily_reports r, jsonb_array_elements(CAST(r.body AS jsonb) -> 'schools') AS s(value);

INSERT INTO daily_report_figures
SELECT s.value ->> 'bin', r.report_date, r.version,
       CAST(s.value ->> 'vouchers_formed' AS BIGINT), CAST(s.value ->> 'vouchers_activated' AS BIGINT),
       CAST(s.value ->> 'vouchers_revoked' AS BIGINT), CAST(s.value ->> 'meals_served' AS BIGINT),
       CAST(s.value ->> 'duplicates' AS BIGINT), CAST(s.value ->> 'students_fed' AS BIGINT)
FROM daily_report_versions r, jsonb_array_elements(CAST(r.body AS jsonb) -> 'schools') AS s(value);
