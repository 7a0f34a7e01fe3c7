-- Tenant walls (issue 16). A meal is the terminal's: its event id is unique per terminal, not
-- across all schools, so one school's terminal can never reach another's stored answer by
-- reusing an id.

-- Before the wall, a terminal pushing another school's voucher id had a rejected row stored
-- against that voucher (shown in the other school's parent's history, and with that school's
-- student on this school's excluded list). Such rows were never billed; they go.
DELETE FROM off_day_confirmations c USING meals m, vouchers v
    WHERE c.event_id = m.event_id AND v.id = m.voucher_id AND m.school_bin <> v.school_bin;
DELETE FROM meals m USING vouchers v WHERE v.id = m.voucher_id AND m.school_bin <> v.school_bin;

-- A confirmation is the school's, for its meal(s) with that event id.
ALTER TABLE off_day_confirmations DROP CONSTRAINT off_day_confirmations_event_id_fkey;
ALTER TABLE off_day_confirmations DROP CONSTRAINT off_day_confirmations_pkey,
    ADD PRIMARY KEY (school_bin, event_id);

-- Meals from before terminals had ids (none in production) belong to the nil terminal.
UPDATE meals SET terminal_id = '00000000-0000-0000-0000-000000000000' WHERE terminal_id IS NULL;
ALTER TABLE meals DROP CONSTRAINT meals_pkey;
ALTER TABLE meals ALTER COLUMN terminal_id SET NOT NULL, ADD PRIMARY KEY (terminal_id, event_id);
-- The school's references to a meal (the director's confirmation, the табель's lists).
CREATE INDEX meals_school_event ON meals (school_bin, event_id);
