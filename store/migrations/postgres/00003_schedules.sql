-- +goose Up
-- Schedules seen by the scheduler: ticks before `since` are never caught up.
CREATE TABLE schedules (
    name  TEXT PRIMARY KEY,
    since TIMESTAMPTZ NOT NULL
);

-- One row per fired tick: the unique key is the claim that makes several
-- processes open each scheduled round exactly once. Written in the same
-- transaction as the round it opens.
CREATE TABLE schedule_fires (
    schedule   TEXT NOT NULL,
    fire_at    TIMESTAMPTZ NOT NULL,
    round_id   BIGINT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (schedule, fire_at)
);

-- Unannounced checks: the commitment (SHA-256 of the seed) is recorded when
-- the draw is planned; the seed is revealed in the round when it opens.
CREATE TABLE draw_plans (
    schedule     TEXT NOT NULL,
    window_start DATE NOT NULL,
    fire_at      TIMESTAMPTZ NOT NULL,
    commitment   TEXT NOT NULL,
    seed         TEXT NOT NULL,
    PRIMARY KEY (schedule, window_start)
);

-- Rounds: how and why each was opened, and for random checks the revealed draw.
ALTER TABLE rounds ADD COLUMN scope TEXT NOT NULL DEFAULT 'all';
ALTER TABLE rounds ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
ALTER TABLE rounds ADD COLUMN fire_at TIMESTAMPTZ;
ALTER TABLE rounds ADD COLUMN draw TEXT NOT NULL DEFAULT '';
ALTER TABLE rounds ADD COLUMN rules_json TEXT NOT NULL DEFAULT '';
ALTER TABLE rounds ADD COLUMN villages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN new_findings INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN repeat_findings INTEGER NOT NULL DEFAULT 0;

-- The villages a round inspected (random checks leave out recently inspected ones).
CREATE TABLE round_villages (
    round_id   BIGINT NOT NULL REFERENCES rounds (id),
    village_id BIGINT NOT NULL REFERENCES villages (id),
    PRIMARY KEY (round_id, village_id)
);
CREATE INDEX round_villages_village ON round_villages (village_id);

-- A rule that fails again while a finding for the same village and rule is
-- open is recorded on that finding: at most one open finding per pair.
DROP INDEX findings_village_rule;
CREATE UNIQUE INDEX findings_one_open ON findings (village_id, rule_id) WHERE state NOT IN ('signed_off', 'dismissed');
CREATE INDEX findings_village_rule ON findings (village_id, rule_id);

-- +goose Down
DROP INDEX findings_one_open;
DROP TABLE round_villages;
DROP TABLE draw_plans;
DROP TABLE schedule_fires;
DROP TABLE schedules;
