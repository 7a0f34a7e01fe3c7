-- The school console: signed-in staff sessions (only the SHA-256 of the session id is kept)
-- and each staff member's language.

CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('social_pedagogue', 'director')),
    school_bin  TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

CREATE TABLE staff_preferences (
    subject     TEXT PRIMARY KEY,
    language    TEXT NOT NULL CHECK (language IN ('ru', 'kk')),
    updated_at  TEXT NOT NULL
);
