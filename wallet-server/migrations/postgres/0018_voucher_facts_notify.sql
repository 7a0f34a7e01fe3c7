-- Voucher facts changed: tell every server process on this database, so their caches of the
-- mint's represented-voucher lookup (`store/facts_cache.rs`) forget it at once.
-- NOTIFY is delivered at commit, only if the transaction commits; the payload is the ids of
-- the vouchers concerned (never an IIN), comma-separated; an empty payload means "forget
-- everything" (too many ids for one notification).
-- A voucher: its state, dates, school or student changed, or it was deleted (roster_seq and
-- updated_at alone are not facts a mint reads). A representation: moved or removed; its
-- student's vouchers are named. A new representation needs nothing: absence is not cached.

CREATE FUNCTION notify_voucher_facts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT;
BEGIN
    IF TG_TABLE_NAME = 'vouchers' THEN
        ids := OLD.id::text;
    ELSE
        SELECT string_agg(id::text, ',') INTO ids FROM vouchers WHERE student_iin = OLD.student_iin;
        IF ids IS NULL THEN
            RETURN NULL;
        END IF;
        IF length(ids) > 7000 THEN
            ids := '';
        END IF;
    END IF;
    PERFORM pg_notify('voucher_facts', ids);
    RETURN NULL;
END
$$;

CREATE TRIGGER vouchers_facts_changed
    AFTER UPDATE OF state, valid_from, valid_until, school_bin, student_iin OR DELETE ON vouchers
    FOR EACH ROW EXECUTE FUNCTION notify_voucher_facts();

-- Not on `relation` alone: every list row re-states it (an upsert), and a mint does not read it.
CREATE TRIGGER representatives_facts_changed
    AFTER UPDATE OF student_iin, representative_iin OR DELETE ON student_representatives
    FOR EACH ROW EXECUTE FUNCTION notify_voucher_facts();
