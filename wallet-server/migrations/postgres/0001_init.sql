-- Foundation schema: schools, students, representatives, vouchers, audit log.
-- Instants are timestamptz (UTC); business dates are Astana dates.

CREATE TABLE schools (
    bin         TEXT PRIMARY KEY CHECK (length(bin) = 12),
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE students (
    iin          TEXT PRIMARY KEY CHECK (length(iin) = 12),
    full_name    TEXT NOT NULL,
    school_bin   TEXT NOT NULL REFERENCES schools (bin),
    grade        SMALLINT NOT NULL CHECK (grade BETWEEN 0 AND 11),
    class_label  TEXT NOT NULL,
    category     TEXT NOT NULL CHECK (category IN ('asp', 'low_income', 'orphan', 'primary')),
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX students_school ON students (school_bin);

CREATE TABLE representatives (
    iin         TEXT PRIMARY KEY CHECK (length(iin) = 12),
    full_name   TEXT NOT NULL,
    phone       TEXT,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE student_representatives (
    student_iin         TEXT NOT NULL REFERENCES students (iin),
    representative_iin  TEXT NOT NULL REFERENCES representatives (iin),
    relation            TEXT NOT NULL CHECK (relation IN ('mother', 'father', 'guardian')),
    PRIMARY KEY (student_iin, representative_iin)
);
CREATE INDEX student_representatives_rep ON student_representatives (representative_iin);

CREATE TABLE vouchers (
    id            UUID PRIMARY KEY,
    programme     TEXT NOT NULL CHECK (programme IN ('school_meals', 'gas')),
    student_iin   TEXT NOT NULL REFERENCES students (iin),
    school_bin    TEXT NOT NULL REFERENCES schools (bin),
    state         TEXT NOT NULL CHECK (state IN ('formed', 'activated', 'expired', 'revoked')),
    valid_from    DATE NOT NULL,
    valid_until   DATE NOT NULL,
    formed_at     TIMESTAMPTZ NOT NULL,
    activated_at  TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL,
    CHECK (valid_from <= valid_until)
);
-- At most one live voucher per student, programme and period.
CREATE UNIQUE INDEX vouchers_one_live
    ON vouchers (programme, student_iin, valid_from)
    WHERE state IN ('formed', 'activated');
CREATE INDEX vouchers_student ON vouchers (student_iin);
CREATE INDEX vouchers_school ON vouchers (school_bin, state);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    action       TEXT NOT NULL,
    from_state   TEXT,
    to_state     TEXT,
    reason       TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity_kind, entity_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
