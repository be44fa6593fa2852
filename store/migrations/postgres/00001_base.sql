-- +goose Up
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE townships (
    id   BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE villages (
    id          BIGSERIAL PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    township_id BIGINT NOT NULL REFERENCES townships (id),
    poverty     BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX villages_township ON villages (township_id);

CREATE TABLE advisers (
    id     BIGSERIAL PRIMARY KEY,
    code   TEXT NOT NULL UNIQUE,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('lawyer', 'worker')),
    firm   TEXT NOT NULL DEFAULT '',
    phone  TEXT NOT NULL DEFAULT '',
    qq     TEXT NOT NULL DEFAULT '',
    wechat TEXT NOT NULL DEFAULT '',
    email  TEXT NOT NULL DEFAULT ''
);

-- At most one adviser per village on any day: enforced by an exclusion constraint.
CREATE TABLE assignments (
    id         BIGSERIAL PRIMARY KEY,
    adviser_id BIGINT NOT NULL REFERENCES advisers (id),
    village_id BIGINT NOT NULL REFERENCES villages (id),
    from_date  DATE NOT NULL,
    to_date    DATE,
    CHECK (to_date IS NULL OR to_date >= from_date),
    EXCLUDE USING gist (village_id WITH =, daterange(from_date, to_date, '[]') WITH &&)
);
CREATE INDEX assignments_adviser ON assignments (adviser_id);

CREATE TABLE activities (
    id         BIGSERIAL PRIMARY KEY,
    adviser_id BIGINT NOT NULL REFERENCES advisers (id),
    village_id BIGINT NOT NULL REFERENCES villages (id),
    kind       TEXT NOT NULL,
    day        DATE NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1 CHECK (count >= 0),
    amount_fen BIGINT NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),
    note       TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT ''
);
-- The natural key of a record: the same adviser, village, kind, day and note is a duplicate.
CREATE UNIQUE INDEX activities_key ON activities (adviser_id, village_id, kind, day, note);
-- Set-based evaluation scans activities by day and village.
CREATE INDEX activities_day ON activities (day, village_id);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('supervisor', 'officer', 'adviser')),
    township_id   BIGINT REFERENCES townships (id),
    adviser_id    BIGINT REFERENCES advisers (id),
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (role <> 'officer' OR township_id IS NOT NULL),
    CHECK (role <> 'adviser' OR adviser_id IS NOT NULL)
);

-- +goose Down
DROP TABLE users;
DROP TABLE activities;
DROP TABLE assignments;
DROP TABLE advisers;
DROP TABLE villages;
DROP TABLE townships;
