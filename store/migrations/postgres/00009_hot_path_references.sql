-- +goose Up
-- The references on the write-heavy tables are kept by construction and by
-- the parent side instead of per-row foreign-key triggers.
--
-- PostgreSQL checks a foreign key with a trigger per inserted row (a query
-- and a row lock on the parent), which cost more than the rows themselves:
-- 50,000 round_villages rows took 952 ms to insert with their two keys and
-- 85 ms without; opening a round at 50,000 villages made ~280,000 such
-- checks, importing a million activities two million. ducha writes these
-- columns only from ids it has just read or inserted in the same
-- transaction, and the rows they point at are never deleted — which is now
-- enforced: deleting or truncating townships, villages, advisers, rounds or
-- findings is refused, by a statement-level trigger that costs nothing on
-- the write paths. `ducha audit verify` checks that every such reference
-- resolves (invariant "refs"). SQLite keeps its foreign keys: its checks are
-- plain index lookups and a county is small.
ALTER TABLE activities DROP CONSTRAINT activities_village_id_fkey,
                       DROP CONSTRAINT activities_adviser_id_fkey;
ALTER TABLE findings DROP CONSTRAINT findings_round_id_fkey,
                     DROP CONSTRAINT findings_village_id_fkey,
                     DROP CONSTRAINT findings_township_id_fkey,
                     DROP CONSTRAINT findings_adviser_id_fkey;
ALTER TABLE finding_history DROP CONSTRAINT finding_history_finding_id_fkey;
ALTER TABLE round_villages DROP CONSTRAINT round_villages_round_id_fkey,
                           DROP CONSTRAINT round_villages_village_id_fkey;
ALTER TABLE round_findings DROP CONSTRAINT round_findings_round_id_fkey,
                           DROP CONSTRAINT round_findings_finding_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% 的记录不可删除 (督查记录引用它们): rows of % are never deleted', TG_TABLE_NAME, TG_TABLE_NAME;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER townships_no_delete BEFORE DELETE OR TRUNCATE ON townships FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER villages_no_delete BEFORE DELETE OR TRUNCATE ON villages FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER advisers_no_delete BEFORE DELETE OR TRUNCATE ON advisers FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER rounds_no_delete BEFORE DELETE OR TRUNCATE ON rounds FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER findings_no_delete BEFORE DELETE OR TRUNCATE ON findings FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

-- +goose Down
DROP TRIGGER findings_no_delete ON findings;
DROP TRIGGER rounds_no_delete ON rounds;
DROP TRIGGER advisers_no_delete ON advisers;
DROP TRIGGER villages_no_delete ON villages;
DROP TRIGGER townships_no_delete ON townships;
DROP FUNCTION refuse_delete();
ALTER TABLE round_findings ADD FOREIGN KEY (round_id) REFERENCES rounds (id),
                           ADD FOREIGN KEY (finding_id) REFERENCES findings (id);
ALTER TABLE round_villages ADD FOREIGN KEY (round_id) REFERENCES rounds (id),
                           ADD FOREIGN KEY (village_id) REFERENCES villages (id);
ALTER TABLE finding_history ADD FOREIGN KEY (finding_id) REFERENCES findings (id);
ALTER TABLE findings ADD FOREIGN KEY (round_id) REFERENCES rounds (id),
                     ADD FOREIGN KEY (village_id) REFERENCES villages (id),
                     ADD FOREIGN KEY (township_id) REFERENCES townships (id),
                     ADD FOREIGN KEY (adviser_id) REFERENCES advisers (id);
ALTER TABLE activities ADD FOREIGN KEY (village_id) REFERENCES villages (id),
                       ADD FOREIGN KEY (adviser_id) REFERENCES advisers (id);
