-- The school calendar (issue 14, point 7): what makes a day a school day is data.
-- Fixed public holidays are the Labour Code's and live in the domain; everything declared
-- per year lives here: moving holidays and transfers (national), school breaks (national,
-- per region or per school; the most specific of a key wins), each school's week per
-- school year, and each school's region.

ALTER TABLE schools ADD COLUMN region TEXT;

CREATE TABLE calendar_days (
    day         DATE PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('holiday', 'workday', 'day_off')),
    name        TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE school_breaks (
    school_year  TEXT NOT NULL CHECK (length(school_year) = 9),
    break_key    TEXT NOT NULL,
    scope_level  TEXT NOT NULL CHECK (scope_level IN ('national', 'region', 'school')),
    -- '' for national, the region's slug, or the school's BIN.
    scope_id     TEXT NOT NULL,
    first_day    DATE NOT NULL,
    last_day     DATE NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CHECK (first_day <= last_day),
    PRIMARY KEY (school_year, break_key, scope_level, scope_id)
);

CREATE TABLE school_weeks (
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    school_year  TEXT NOT NULL CHECK (length(school_year) = 9),
    week         TEXT NOT NULL CHECK (week IN ('five_day', 'six_day')),
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (school_bin, school_year)
);

-- A meal on a non-school day is billed only once the director confirms it (audited too).
CREATE TABLE off_day_confirmations (
    event_id      UUID PRIMARY KEY REFERENCES meals (event_id),
    school_bin    TEXT NOT NULL REFERENCES schools (bin),
    confirmed_at  TIMESTAMPTZ NOT NULL,
    confirmed_by  TEXT NOT NULL
);
