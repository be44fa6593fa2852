-- +goose Up
-- Bulletin numbers are per year and gap-free: the counter row is taken (and
-- locked) inside the publishing transaction, so a rollback returns the number.
CREATE TABLE bulletin_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

-- A published bulletin: its content (JSON of bulletin.Bulletin) is frozen.
CREATE TABLE bulletins (
    id           BIGSERIAL PRIMARY KEY,
    year         INTEGER NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    round_id     BIGINT REFERENCES rounds (id),
    corrects_id  BIGINT REFERENCES bulletins (id),
    reason       TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    published_by TEXT NOT NULL,
    content      TEXT NOT NULL,
    UNIQUE (year, seq),
    CHECK (corrects_id IS NULL OR reason <> '')
);
CREATE INDEX bulletins_round ON bulletins (round_id);

-- +goose StatementBegin
CREATE FUNCTION bulletins_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'bulletins are frozen: publish a correction instead';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER bulletins_no_update BEFORE UPDATE OR DELETE ON bulletins
    FOR EACH ROW EXECUTE FUNCTION bulletins_frozen();

-- +goose Down
DROP TABLE bulletins;
DROP FUNCTION bulletins_frozen();
DROP TABLE bulletin_counters;
