-- Daily reports to NOBD, kept as built: building a day twice gives the same content.

CREATE TABLE daily_reports (
    report_date  DATE PRIMARY KEY,
    body         TEXT NOT NULL,
    built_at     TIMESTAMPTZ NOT NULL
);
