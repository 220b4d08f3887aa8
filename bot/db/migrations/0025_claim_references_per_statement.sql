-- PostgreSQL: a claim batch checks its drop once per statement, not once per row.
--
-- PostgreSQL checks a foreign key with one trigger call per written row. The drop claim writer writes
-- a batch of up to 2,000 claims or waitlist joins in ONE statement (bot/db/drops.py write_batch_pg),
-- and those per-row calls were half of that statement's time (EXPLAIN ANALYZE: 14.5 of 33.8 ms for
-- 2,000 claims; bench/bench_drops.py --db postgresql). So on PostgreSQL the references of drop_claims
-- and drop_waitlist to drops are checked by one statement-level trigger over the statement's new rows:
-- it takes the same lock a foreign key takes (FOR KEY SHARE on each drop referenced) and raises the
-- same error (SQLSTATE 23503, an IntegrityError on both engines). A drop that claim or waitlist rows
-- point at cannot be deleted or renumbered (the foreign keys' ON DELETE/UPDATE NO ACTION).
--
-- The foreign keys stay declared, so the catalogue, `python -m bot db copy` and other tools still see
-- them. PostgreSQL 18 and later can keep a foreign key NOT ENFORCED (no per-row triggers); on an older
-- server they stay enforced too (correct, only slower). SQLite checks foreign keys in-process at a
-- fraction of the cost, so nothing changes there: every statement below is PostgreSQL's alone.

-- The functions name the tables through the schema of the table that fired them (TG_TABLE_SCHEMA), so
-- they work whatever the session's search_path is, and in a schema restored or renamed elsewhere.

-- postgresql only
CREATE FUNCTION kizuna_new_rows_reference_drops() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
BEGIN
    SELECT COUNT(DISTINCT drop_id) INTO wanted FROM new_rows;
    EXECUTE format('SELECT COUNT(*) FROM (SELECT id FROM %I.drops WHERE id IN (SELECT drop_id FROM new_rows)'
                   ' FOR KEY SHARE) AS locked', TG_TABLE_SCHEMA) INTO found;
    IF found < wanted THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%_drop_id_fkey"',
            TG_TABLE_NAME, TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = 'Every drop_id must be the id of a row in drops.';
    END IF;
    RETURN NULL;
END
$$;

-- postgresql only
CREATE TRIGGER drop_claims_drop_exists_on_insert AFTER INSERT ON drop_claims
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kizuna_new_rows_reference_drops();

-- postgresql only
CREATE TRIGGER drop_claims_drop_exists_on_update AFTER UPDATE ON drop_claims
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kizuna_new_rows_reference_drops();

-- postgresql only
CREATE TRIGGER drop_waitlist_drop_exists_on_insert AFTER INSERT ON drop_waitlist
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kizuna_new_rows_reference_drops();

-- postgresql only
CREATE TRIGGER drop_waitlist_drop_exists_on_update AFTER UPDATE ON drop_waitlist
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kizuna_new_rows_reference_drops();

-- postgresql only
CREATE FUNCTION kizuna_drop_still_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referenced boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.drop_claims WHERE drop_id = $1)'
                   ' OR EXISTS (SELECT 1 FROM %I.drop_waitlist WHERE drop_id = $1)', TG_TABLE_SCHEMA, TG_TABLE_SCHEMA)
        INTO referenced USING OLD.id;
    IF referenced THEN
        RAISE EXCEPTION 'update or delete on table "drops" violates foreign key constraint: drop % is still referenced',
            OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

-- postgresql only
CREATE TRIGGER drops_keep_referenced BEFORE DELETE OR UPDATE OF id ON drops
FOR EACH ROW EXECUTE FUNCTION kizuna_drop_still_referenced();

-- postgresql only
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 180000 THEN
        EXECUTE 'ALTER TABLE drop_claims ALTER CONSTRAINT drop_claims_drop_id_fkey NOT ENFORCED';
        EXECUTE 'ALTER TABLE drop_waitlist ALTER CONSTRAINT drop_waitlist_drop_id_fkey NOT ENFORCED';
    END IF;
END
$$;
