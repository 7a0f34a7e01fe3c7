-- The per-voucher pass mint limit in the database (issue 16, "Limits that survive"): one
-- row per voucher and fixed window, counted by one atomic upsert, so the limit holds across
-- restarts and across several server processes. Rows of past windows are deleted by the
-- server (an hourly sweep); no foreign key, the counts are short-lived.

CREATE TABLE mint_windows (
    voucher_id    UUID NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL,
    minted        INTEGER NOT NULL CHECK (minted >= 0),
    PRIMARY KEY (voucher_id, window_start)
);

CREATE INDEX mint_windows_start ON mint_windows (window_start);
