-- Fewer index entries per meal (issue 18: the meal insert is most of a push's database
-- time, and every index on `meals` is written for every row).
--
-- `meals_school_received` (school, received_at) served no query: every read that filters on
-- `received_at` (the табель's late meals and adjustments) also names the school and a range
-- of service days, which `meals_school_day` answers. `meals_school_seq` (school, school_seq)
-- served only the counter's feed of other terminals' meals, which always names the day too:
-- one index (school, day, school_seq) now answers both it and every read by school and day.
DROP INDEX meals_school_received;
DROP INDEX meals_school_seq;
DROP INDEX meals_school_day;
CREATE INDEX meals_school_day ON meals (school_bin, service_day, school_seq);

-- No foreign key to `vouchers` either: on PostgreSQL it checked every meal with a query of
-- its own that also locked the voucher's row (`FOR KEY SHARE`, written to the WAL), and
-- the rows of two terminals of one school shared those locks. The only writer
-- (`store/sql/meal_push.rs`) inserts a meal only for a voucher it has just read, in the
-- same transaction, by id *and* the terminal's school; vouchers are never deleted and never
-- change school. (SQLite checks its key inside the insert, an index probe; it keeps it.)
ALTER TABLE meals DROP CONSTRAINT meals_voucher_id_fkey;
