-- +goose Up
-- Instants are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (fixed width, so they sort).
CREATE TABLE rounds (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('periodic', 'random', 'manual')),
    period_from    TEXT NOT NULL,
    period_to      TEXT NOT NULL,
    opened_at      TEXT NOT NULL,
    opened_by      TEXT NOT NULL,
    closed_at      TEXT,
    rules_name     TEXT NOT NULL DEFAULT '',
    rules_checksum TEXT NOT NULL DEFAULT '',
    CHECK (period_to >= period_from)
);

CREATE TABLE findings (
    id               INTEGER PRIMARY KEY,
    round_id         INTEGER REFERENCES rounds (id),
    rule_id          TEXT NOT NULL,
    rule_title       TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('general', 'serious', 'severe')),
    rectify_n        INTEGER NOT NULL DEFAULT 0,
    rectify_workdays BOOLEAN NOT NULL DEFAULT 0,
    village_id       INTEGER NOT NULL REFERENCES villages (id),
    township_id      INTEGER NOT NULL REFERENCES townships (id),
    adviser_id       INTEGER REFERENCES advisers (id),
    evidence         TEXT NOT NULL DEFAULT '{}',
    message          TEXT NOT NULL DEFAULT '',
    repeat_count     INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL CHECK (state IN ('discovered', 'ordered', 'responded', 'verified', 'signed_off',
                                                    'overdue', 'appealed', 'interview', 'accountability', 'dismissed')),
    version          INTEGER NOT NULL DEFAULT 1,
    deadline         TEXT,
    rejections       INTEGER NOT NULL DEFAULT 0,
    summons          INTEGER NOT NULL DEFAULT 0,
    escalations      INTEGER NOT NULL DEFAULT 0,
    verified_by      TEXT NOT NULL DEFAULT '',
    interview_on     TEXT,
    reminded_for     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    last_seq         INTEGER NOT NULL,
    last_hash        TEXT NOT NULL
);
CREATE INDEX findings_open ON findings (state) WHERE state NOT IN ('signed_off', 'dismissed');
CREATE INDEX findings_adviser ON findings (adviser_id, created_at);
CREATE INDEX findings_village_rule ON findings (village_id, rule_id);
CREATE INDEX findings_round ON findings (round_id);

CREATE TABLE finding_history (
    finding_id INTEGER NOT NULL REFERENCES findings (id),
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    event      TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    payload    TEXT NOT NULL DEFAULT '{}',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (finding_id, seq)
) WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER finding_history_no_update BEFORE UPDATE ON finding_history
BEGIN
    SELECT RAISE(ABORT, 'finding_history is append-only: UPDATE refused');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER finding_history_no_delete BEFORE DELETE ON finding_history
BEGIN
    SELECT RAISE(ABORT, 'finding_history is append-only: DELETE refused');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER finding_history_no_delete;
DROP TRIGGER finding_history_no_update;
DROP TABLE finding_history;
DROP TABLE findings;
DROP TABLE rounds;
