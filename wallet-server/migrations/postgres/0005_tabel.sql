-- Табель: approved (frozen) months and meal prices.

CREATE TABLE tabel_approvals (
    school_bin    TEXT NOT NULL REFERENCES schools (bin),
    month         TEXT NOT NULL CHECK (length(month) = 7),
    approved_at   TIMESTAMPTZ NOT NULL,
    approved_by   TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    -- The табель exactly as approved (JSON), rendered for every later download.
    body          TEXT NOT NULL,
    PRIMARY KEY (school_bin, month)
);

CREATE TABLE meal_prices (
    school_bin  TEXT NOT NULL REFERENCES schools (bin),
    programme   TEXT NOT NULL,
    price_tiyn  BIGINT NOT NULL CHECK (price_tiyn >= 0),
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (school_bin, programme)
);

CREATE INDEX meals_school_received ON meals (school_bin, received_at);
