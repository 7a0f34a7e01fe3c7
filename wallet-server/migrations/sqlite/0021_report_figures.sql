-- Each stored version of a day's report to NOBD, one row per school: the console's Reports
-- page reads a school's 30 days in one query instead of parsing 30 whole-country bodies.
-- Written from the body in the same transaction as the body (store/sql/reports.rs).

CREATE TABLE daily_report_figures (
    school_bin          TEXT NOT NULL,
    report_date         TEXT NOT NULL,
    version             INTEGER NOT NULL CHECK (version >= 1),
    vouchers_formed     INTEGER NOT NULL,
    vouchers_activated  INTEGER NOT NULL,
    vouchers_revoked    INTEGER NOT NULL,
    meals_served        INTEGER NOT NULL,
    duplicates          INTEGER NOT NULL,
    students_fed        INTEGER NOT NULL,
    PRIMARY KEY (school_bin, report_date, version)
);

INSERT INTO daily_report_figures
SELECT json_extract(s.value, '$.bin'), r.report_date, 1,
       json_extract(s.value, '$.vouchers_formed'), json_extract(s.value, '$.vouchers_activated'),
       json_extract(s.value, '$.vouchers_revoked'), json_extract(s.value, '$.meals_served'),
       json_extract(s.value, '$.duplicates'), json_extract(s.value, '$.students_fed')
FROM daily_reports r, json_each(r.body, '$.schools') s;

INSERT INTO daily_report_figures
SELECT json_extract(s.value, '$.bin'), r.report_date, r.version,
       json_extract(s.value, '$.vouchers_formed'), json_extract(s.value, '$.vouchers_activated'),
       json_extract(s.value, '$.vouchers_revoked'), json_extract(s.value, '$.meals_served'),
       json_extract(s.value, '$.duplicates'), json_extract(s.value, '$.students_fed')
FROM daily_report_versions r, json_each(r.body, '$.schools') s;
