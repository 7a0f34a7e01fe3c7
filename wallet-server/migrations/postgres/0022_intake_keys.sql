-- Fewer foreign-key checks per listed student (issue 18: on PostgreSQL each check is a
-- separate query, about 10 µs, and they were half of a 5,000-student list's intake).
--
-- An entry's list and school are one key now: the entry must name its own list's school,
-- which also settles that the school exists (the list references it). Two checks become
-- one, and an entry can no longer claim a school its list is not from.
ALTER TABLE eligibility_lists ADD CONSTRAINT eligibility_lists_id_school UNIQUE (id, school_bin);
ALTER TABLE eligibility_entries DROP CONSTRAINT eligibility_entries_list_id_fkey;
ALTER TABLE eligibility_entries DROP CONSTRAINT eligibility_entries_school_bin_fkey;
ALTER TABLE eligibility_entries ADD CONSTRAINT eligibility_entries_list_school
    FOREIGN KEY (list_id, school_bin) REFERENCES eligibility_lists (id, school_bin);

-- Entitlements are derived rows: the only writer (store/sql/entitlements.rs) selects them
-- from eligibility_entries in the list's transaction, where the student and the school
-- were checked, and neither students nor schools are ever deleted. Checking them again
-- cost two checks per student and month (four per listed student). Like
-- daily_report_figures (0021), they carry no keys of their own.
ALTER TABLE entitlements DROP CONSTRAINT entitlements_student_iin_fkey;
ALTER TABLE entitlements DROP CONSTRAINT entitlements_school_bin_fkey;
