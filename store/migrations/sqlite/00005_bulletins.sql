-- +goose Up
-- Bulletin numbers are per year and gap-free: the counter row is taken
-- inside the publishing transaction, so a rollback returns the number.
CREATE TABLE bulletin_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

-- A published bulletin: its content (JSON of bulletin.Bulletin) is frozen.
CREATE TABLE bulletins (
    id           INTEGER PRIMARY KEY,
    year         INTEGER NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    round_id     INTEGER REFERENCES rounds (id),
    corrects_id  INTEGER REFERENCES bulletins (id),
    reason       TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,
    content      TEXT NOT NULL,
    UNIQUE (year, seq),
    CHECK (corrects_id IS NULL OR reason <> '')
);
CREATE INDEX bulletins_round ON bulletins (round_id);

-- +goose StatementBegin
CREATE TRIGGER bulletins_no_update BEFORE UPDATE ON bulletins
BEGIN
    SELECT RAISE(ABORT, 'bulletins are frozen: publish a correction instead');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER bulletins_no_delete BEFORE DELETE ON bulletins
BEGIN
    SELECT RAISE(ABORT, 'bulletins are frozen: publish a correction instead');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER bulletins_no_delete;
DROP TRIGGER bulletins_no_update;
DROP TABLE bulletins;
DROP TABLE bulletin_counters;
