-- +goose Up
-- Notifications: the transactional outbox and its delivery log. Instants
-- are TEXT 'YYYY-MM-DDTHH:MM:SS.fffffffffZ' (fixed width, so they sort).
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('order', 'rejection', 'reminder', 'interview',
                                                  'accountability', 'bulletin', 'digest')),
    cause           TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    address         TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- pending: next attempt; sending: end of the claim's lease (= claimed_until).
    next_attempt_at TEXT NOT NULL,
    claimed_until   TEXT,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL, -- when it was decided
    queued_at       TEXT NOT NULL, -- when it (last) entered the queue: max age counts from here
    delivered_at    TEXT,
    UNIQUE (cause, recipient, channel)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state IN ('pending', 'sending');

CREATE TABLE outbox_attempts (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES outbox (id),
    attempt     INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    duration_ms REAL NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'resend')),
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_attempts_message ON outbox_attempts (message_id, id);

-- +goose Down
DROP TABLE outbox_attempts;
DROP TABLE outbox;
ALTER TABLE users DROP COLUMN email;
