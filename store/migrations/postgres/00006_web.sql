-- +goose Up
-- The web application: sessions, API tokens, login throttling and evidence
-- files. Session ids and API tokens are stored only as SHA-256 hashes.
CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);

-- One row per failed login, keyed 'login:NAME' and 'ip:ADDR'.
CREATE TABLE login_failures (
    id  BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

-- Uploaded evidence: the bytes live in the upload folder under their hash.
CREATE TABLE evidence_files (
    id           BIGSERIAL PRIMARY KEY,
    finding_id   BIGINT NOT NULL REFERENCES findings (id),
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX evidence_files_finding ON evidence_files (finding_id);

-- The dashboard's one GROUP BY over open findings reads this index only.
CREATE INDEX findings_dashboard ON findings (township_id, state, deadline)
    WHERE state NOT IN ('signed_off', 'dismissed');
-- The overdue list walks this index in deadline order and stops at its limit.
CREATE INDEX findings_red ON findings (deadline, id)
    WHERE state IN ('ordered', 'overdue', 'interview', 'accountability');

-- +goose Down
DROP INDEX findings_red;
DROP INDEX findings_dashboard;
DROP TABLE evidence_files;
DROP TABLE login_failures;
DROP TABLE api_tokens;
DROP TABLE web_sessions;
