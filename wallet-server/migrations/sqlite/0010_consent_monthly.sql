-- Asking again (issue 14): a parent who refused or stayed silent is asked again when the
-- student is on a later month's list of the school year, at most once per list month; an
-- agreement stands for the school year. A conversation records the month of the list that
-- started it. Existing conversations get the first month their student was listed in that
-- school year (else the year's first month).
ALTER TABLE consent_requests ADD COLUMN list_period TEXT NOT NULL DEFAULT '';
UPDATE consent_requests SET list_period = COALESCE(
    (SELECT MIN(e.period) FROM eligibility_entries e
      WHERE e.programme = consent_requests.programme
        AND e.student_iin = consent_requests.student_iin
        AND e.period BETWEEN substr(consent_requests.period_from, 1, 7)
                         AND substr(consent_requests.period_until, 1, 7)),
    substr(consent_requests.period_from, 1, 7));

-- One conversation per student, programme and list month (a `no_phone` record still does not
-- block one when a number turns up), and at most one agreement per school year.
DROP INDEX consent_one_per_period;
CREATE UNIQUE INDEX consent_one_per_month
    ON consent_requests (programme, student_iin, list_period) WHERE state <> 'no_phone';
CREATE UNIQUE INDEX consent_one_agreed_per_year
    ON consent_requests (programme, student_iin, period_from) WHERE state = 'agreed';
