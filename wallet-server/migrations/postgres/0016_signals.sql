-- Signals of misuse and the parent's event feed (issue 19).
--
-- scan_denials: scans a terminal refused, pushed with its meals (`MealBatch.denials`), kept
-- once per (terminal, event id) like meals; `school_bin` is the pushing terminal's school,
-- so a denial naming another school's voucher never reaches that voucher's family.
-- pass_mints: who minted for which voucher on a day (an opaque parent key, no IIN), the one
-- fact the mint path did not keep; one row per parent, voucher and day.
-- signals: a day's signals per school, replaced whole when the day is computed again.

CREATE TABLE scan_denials (
    terminal_id  UUID NOT NULL,
    event_id     UUID NOT NULL,
    school_bin   TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('qr', 'card', 'manual')),
    voucher_id   UUID,
    pass_nonce   TEXT,
    card_uid     TEXT,
    received_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (terminal_id, event_id)
);
CREATE INDEX scan_denials_at ON scan_denials (at);
CREATE INDEX scan_denials_voucher ON scan_denials (voucher_id, received_at);

CREATE TABLE pass_mints (
    day         DATE NOT NULL,
    parent_key  TEXT NOT NULL,
    voucher_id  UUID NOT NULL,
    school_bin  TEXT NOT NULL,
    first_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (day, parent_key, voucher_id)
);
CREATE INDEX pass_mints_school ON pass_mints (school_bin, day);

CREATE TABLE signals (
    day          DATE NOT NULL,
    school_bin   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('pass_at_two_places', 'pass_and_card',
                     'denial_burst', 'outside_hours', 'manual_share', 'mint_burst')),
    subject      TEXT NOT NULL,
    evidence     TEXT NOT NULL,
    computed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (day, school_bin, kind, subject)
);
CREATE INDEX signals_school ON signals (school_bin, day);
