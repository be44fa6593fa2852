-- +goose Up
-- Activity records are partitioned by quarter of their day.
--
-- A round inspects a period (a month, a quarter, half a year) and its
-- checklist reads windows ending on the period's end plus a bounded
-- lookback; the records accumulate year after year. Partitioned by quarter,
-- the facts scan reads the quarters the windows cover and nothing else
-- (50,000 villages: a half-year round read all 10 M records of the year to
-- keep 5 M), and an import's index entries land in the smaller indexes of
-- the quarters it fills. Quarters from 2010 to 2040 exist; any other day goes
-- to activities_other. The table keeps its columns, defaults, checks,
-- sequence and indexes; the primary key now includes the day, as a
-- partitioned table's must (ids still come from one sequence).
ALTER TABLE activities RENAME TO activities_unpartitioned;
ALTER INDEX activities_pkey RENAME TO activities_unpartitioned_pkey;
ALTER INDEX activities_key RENAME TO activities_unpartitioned_key;
ALTER INDEX activities_day RENAME TO activities_unpartitioned_day;
DROP STATISTICS activities_groups;
ALTER SEQUENCE activities_id_seq OWNED BY NONE;

CREATE TABLE activities (
    id         BIGINT NOT NULL DEFAULT nextval('activities_id_seq'),
    adviser_id BIGINT NOT NULL,
    village_id BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    day        DATE NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1 CHECK (count >= 0),
    amount_fen BIGINT NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),
    note       TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (id, day)
) PARTITION BY RANGE (day);
ALTER SEQUENCE activities_id_seq OWNED BY activities.id;

-- +goose StatementBegin
DO $$
DECLARE
    q date := DATE '2010-01-01';
BEGIN
    WHILE q < DATE '2041-01-01' LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF activities FOR VALUES FROM (%L) TO (%L)',
            'activities_' || to_char(q, 'YYYY') || 'q' || to_char(q, 'Q'), q, q + interval '3 months');
        q := q + interval '3 months';
    END LOOP;
END
$$;
-- +goose StatementEnd
CREATE TABLE activities_other PARTITION OF activities DEFAULT;

INSERT INTO activities SELECT * FROM activities_unpartitioned;
DROP TABLE activities_unpartitioned;

-- The natural key of a record: the same adviser, village, kind, day and note is a duplicate.
CREATE UNIQUE INDEX activities_key ON activities (adviser_id, village_id, kind, day, note);
-- Scoped facts and listings read activities by day and village.
CREATE INDEX activities_day ON activities (day, village_id);
ANALYZE activities;

-- +goose Down
ALTER TABLE activities RENAME TO activities_partitioned;
ALTER INDEX activities_pkey RENAME TO activities_partitioned_pkey;
ALTER INDEX activities_key RENAME TO activities_partitioned_key;
ALTER INDEX activities_day RENAME TO activities_partitioned_day;
ALTER SEQUENCE activities_id_seq OWNED BY NONE;
CREATE TABLE activities (
    id         BIGINT PRIMARY KEY DEFAULT nextval('activities_id_seq'),
    adviser_id BIGINT NOT NULL,
    village_id BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    day        DATE NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1 CHECK (count >= 0),
    amount_fen BIGINT NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),
    note       TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT ''
);
ALTER SEQUENCE activities_id_seq OWNED BY activities.id;
INSERT INTO activities SELECT * FROM activities_partitioned;
DROP TABLE activities_partitioned;
CREATE UNIQUE INDEX activities_key ON activities (adviser_id, village_id, kind, day, note);
CREATE INDEX activities_day ON activities (day, village_id);
CREATE STATISTICS activities_groups (ndistinct) ON village_id, adviser_id, kind FROM activities;
