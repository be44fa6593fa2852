-- +goose Up
-- A minimal round; the rounds issue extends it (00003).
CREATE TABLE rounds (
    id             BIGSERIAL PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('periodic', 'random', 'manual')),
    period_from    DATE NOT NULL,
    period_to      DATE NOT NULL,
    opened_at      TIMESTAMPTZ NOT NULL,
    opened_by      TEXT NOT NULL,
    closed_at      TIMESTAMPTZ,
    rules_name     TEXT NOT NULL DEFAULT '',
    rules_checksum TEXT NOT NULL DEFAULT '',
    CHECK (period_to >= period_from)
);

-- One rule not met by one village and its adviser in one round. The facts are
-- fixed at discovery; the lifecycle columns change only through transitions,
-- each guarded by version and recorded in finding_history. last_seq and
-- last_hash are the head of the history chain, updated under the same guard.
CREATE TABLE findings (
    id               BIGSERIAL PRIMARY KEY,
    round_id         BIGINT REFERENCES rounds (id),
    rule_id          TEXT NOT NULL,
    rule_title       TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('general', 'serious', 'severe')),
    rectify_n        INTEGER NOT NULL DEFAULT 0,
    rectify_workdays BOOLEAN NOT NULL DEFAULT FALSE,
    village_id       BIGINT NOT NULL REFERENCES villages (id),
    township_id      BIGINT NOT NULL REFERENCES townships (id),
    adviser_id       BIGINT REFERENCES advisers (id),
    evidence         JSONB NOT NULL DEFAULT '{}',
    message          TEXT NOT NULL DEFAULT '',
    repeat_count     INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL CHECK (state IN ('discovered', 'ordered', 'responded', 'verified', 'signed_off',
                                                    'overdue', 'appealed', 'interview', 'accountability', 'dismissed')),
    version          INTEGER NOT NULL DEFAULT 1,
    deadline         DATE,
    rejections       INTEGER NOT NULL DEFAULT 0,
    summons          INTEGER NOT NULL DEFAULT 0,
    escalations      INTEGER NOT NULL DEFAULT 0,
    verified_by      TEXT NOT NULL DEFAULT '',
    interview_on     DATE,
    reminded_for     DATE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    last_seq         INTEGER NOT NULL,
    last_hash        TEXT NOT NULL
);
CREATE INDEX findings_open ON findings (state) WHERE state NOT IN ('signed_off', 'dismissed');
CREATE INDEX findings_adviser ON findings (adviser_id, created_at);
CREATE INDEX findings_village_rule ON findings (village_id, rule_id);
CREATE INDEX findings_round ON findings (round_id);

-- Append-only: each row's hash covers its fields and prev_hash (the hash of
-- the finding's previous row).
CREATE TABLE finding_history (
    finding_id BIGINT NOT NULL REFERENCES findings (id),
    seq        INTEGER NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
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
);

-- +goose StatementBegin
CREATE FUNCTION finding_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'finding_history is append-only: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER finding_history_no_update BEFORE UPDATE OR DELETE ON finding_history
    FOR EACH ROW EXECUTE FUNCTION finding_history_append_only();
CREATE TRIGGER finding_history_no_truncate BEFORE TRUNCATE ON finding_history
    FOR EACH STATEMENT EXECUTE FUNCTION finding_history_append_only();

-- +goose Down
DROP TABLE finding_history;
DROP FUNCTION finding_history_append_only();
DROP TABLE findings;
DROP TABLE rounds;
