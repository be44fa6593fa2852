-- +goose Up
-- Dates are TEXT 'YYYY-MM-DD'; instants are TEXT RFC 3339 in UTC.
CREATE TABLE townships (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE villages (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    township_id INTEGER NOT NULL REFERENCES townships (id),
    poverty     BOOLEAN NOT NULL DEFAULT 1
);
CREATE INDEX villages_township ON villages (township_id);

CREATE TABLE advisers (
    id     INTEGER PRIMARY KEY,
    code   TEXT NOT NULL UNIQUE,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('lawyer', 'worker')),
    firm   TEXT NOT NULL DEFAULT '',
    phone  TEXT NOT NULL DEFAULT '',
    qq     TEXT NOT NULL DEFAULT '',
    wechat TEXT NOT NULL DEFAULT '',
    email  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE assignments (
    id         INTEGER PRIMARY KEY,
    adviser_id INTEGER NOT NULL REFERENCES advisers (id),
    village_id INTEGER NOT NULL REFERENCES villages (id),
    from_date  TEXT NOT NULL,
    to_date    TEXT,
    CHECK (to_date IS NULL OR to_date >= from_date)
);
CREATE INDEX assignments_village ON assignments (village_id);
CREATE INDEX assignments_adviser ON assignments (adviser_id);

-- At most one adviser per village on any day (PostgreSQL uses an exclusion constraint).
-- +goose StatementBegin
CREATE TRIGGER assignments_no_overlap_insert BEFORE INSERT ON assignments
WHEN EXISTS (
    SELECT 1 FROM assignments a
    WHERE a.village_id = NEW.village_id
      AND a.from_date <= COALESCE(NEW.to_date, '9999-12-31')
      AND NEW.from_date <= COALESCE(a.to_date, '9999-12-31'))
BEGIN
    SELECT RAISE(ABORT, 'assignments overlap: a village has one adviser at a time');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER assignments_no_overlap_update BEFORE UPDATE ON assignments
WHEN EXISTS (
    SELECT 1 FROM assignments a
    WHERE a.village_id = NEW.village_id AND a.id <> NEW.id
      AND a.from_date <= COALESCE(NEW.to_date, '9999-12-31')
      AND NEW.from_date <= COALESCE(a.to_date, '9999-12-31'))
BEGIN
    SELECT RAISE(ABORT, 'assignments overlap: a village has one adviser at a time');
END;
-- +goose StatementEnd

CREATE TABLE activities (
    id         INTEGER PRIMARY KEY,
    adviser_id INTEGER NOT NULL REFERENCES advisers (id),
    village_id INTEGER NOT NULL REFERENCES villages (id),
    kind       TEXT NOT NULL,
    day        TEXT NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1 CHECK (count >= 0),
    amount_fen INTEGER NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),
    note       TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX activities_key ON activities (adviser_id, village_id, kind, day, note);
CREATE INDEX activities_day ON activities (day, village_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('supervisor', 'officer', 'adviser')),
    township_id   INTEGER REFERENCES townships (id),
    adviser_id    INTEGER REFERENCES advisers (id),
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK (role <> 'officer' OR township_id IS NOT NULL),
    CHECK (role <> 'adviser' OR adviser_id IS NOT NULL)
);

-- +goose Down
DROP TABLE users;
DROP TABLE activities;
DROP TRIGGER assignments_no_overlap_update;
DROP TRIGGER assignments_no_overlap_insert;
DROP TABLE assignments;
DROP TABLE advisers;
DROP TABLE villages;
DROP TABLE townships;
