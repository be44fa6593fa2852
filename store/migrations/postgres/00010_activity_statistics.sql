-- +goose Up
-- The checklist's aggregate groups activities by village, adviser and kind.
-- Without statistics on how these columns go together the planner takes
-- them as independent and expects twice the groups there are, so it sorts
-- (a province's 10 M records) where a hash table fits in work_mem.
-- ANALYZE fills them in (autovacuum analyzes after large imports).
CREATE STATISTICS activities_groups (ndistinct) ON village_id, adviser_id, kind FROM activities;

-- +goose Down
DROP STATISTICS activities_groups;
