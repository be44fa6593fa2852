-- +goose Up
-- Notifications: the transactional outbox (messages written in the same
-- transaction as their cause) and its delivery log.
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
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
    -- When the message is next due: for pending, its next attempt; for
    -- sending, the end of its claim's lease (= claimed_until), after which
    -- another dispatcher may take it over.
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL, -- when it was decided
    queued_at       TIMESTAMPTZ NOT NULL, -- when it (last) entered the queue: max age counts from here
    delivered_at    TIMESTAMPTZ,
    -- The idempotency key: enqueueing the same message twice is a no-op.
    UNIQUE (cause, recipient, channel)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state IN ('pending', 'sending');

-- One row per delivery attempt (and per manual resend).
CREATE TABLE outbox_attempts (
    id          BIGSERIAL PRIMARY KEY,
    message_id  BIGINT NOT NULL REFERENCES outbox (id),
    attempt     INTEGER NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'resend')),
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_attempts_message ON outbox_attempts (message_id, id);

-- Wake the dispatchers when messages are committed (one notification per
-- transaction: PostgreSQL folds identical ones).
-- +goose StatementBegin
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ducha_outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- +goose Down
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
DROP TABLE outbox_attempts;
DROP TABLE outbox;
ALTER TABLE users DROP COLUMN email;
