-- Least privilege end to end (issue 16): a role per part of the system, every object owned by
-- kgv_owner, personal data in the quarantine and the audit trail readable only by reviewers,
-- the bulk load's DDL-ish steps behind SECURITY DEFINER functions, and the GDPR erasure
-- register that doubles as the suppression list of later loads.
--
--   kgv_owner     owns every object (schema migrations, DDL); NOLOGIN, granted to the DBA
--   kgv_loader    the pipeline: reads and writes staging, kgv and migration; no DDL;
--                 reads audit.log for the pre-migration snapshot
--   kgv_readonly  checks and report: reads everything except raw quarantine rows and the
--                 old/new rows of the audit trail
--   kgv_reviewer  reads those too (personal data under review) and erases applicants
--   kgv_dagster   Dagster's own storage: its schema "dagster" only
--   kgv_app       the application (unchanged); the exporter has its own grants
--                 (monitoring/postgres-exporter/grants.sql)
--
-- `kgv roles create` makes the logins (scram-sha-256 passwords from the environment). Objects
-- that later files create are given to kgv_owner and granted again by
-- migration.assign_privileges(), which `kgv schema apply` runs after every file.

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['kgv_loader', 'kgv_reviewer', 'kgv_dagster'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;
COMMENT ON ROLE kgv_loader IS 'The pipeline: writes staging, kgv and migration; no DDL.';
COMMENT ON ROLE kgv_reviewer IS
    'Reads personal data in quarantine (raw_row) and audit (old/new rows); erases applicants.';
COMMENT ON ROLE kgv_dagster IS 'Dagster''s run, event and schedule storage: schema dagster only.';
GRANT kgv_readonly TO kgv_reviewer;

-- Dagster's storage lives in its own schema; the login finds it first on its search path.
CREATE SCHEMA IF NOT EXISTS dagster AUTHORIZATION kgv_dagster;
COMMENT ON SCHEMA dagster IS 'Dagster''s runs, events and schedules (login kgv_dagster).';
ALTER ROLE kgv_dagster SET search_path = dagster;

-- The GDPR erasure register (Art. 17): who erased which legacy key when, never personal data.
-- It is also the suppression list: a staging load redacts the personal columns of every key
-- listed here (kgv_assets/security/erasure.py), so neither a full load nor the incremental
-- sync brings the data back while the legacy system still holds it.
CREATE TABLE migration.erasures (
    legacy_table   text        NOT NULL,
    legacy_key     text        NOT NULL,  -- lower-case, as the target stores uuids
    erased_by      text        NOT NULL DEFAULT session_user,
    erased_at      timestamptz NOT NULL DEFAULT now(),
    rows_redacted  jsonb       NOT NULL DEFAULT '{}',  -- table -> rows changed (counts only)
    PRIMARY KEY (legacy_table, legacy_key)
);
COMMENT ON TABLE migration.erasures IS
    'GDPR erasures (who, when, which legacy key) and the suppression list of later loads.';

-- What the bulk load defers (BulkLoad in kgv_assets/load/writer.py) when the loader, which
-- owns no table, asks for it: the definitions PostgreSQL wrote, kept until the same
-- transaction restores them.
CREATE TABLE migration.bulk_load_deferred (
    relation    regclass NOT NULL,
    kind        text     NOT NULL CHECK (kind IN ('index', 'foreign key', 'trigger')),
    name        text     NOT NULL,
    definition  text,
    PRIMARY KEY (relation, kind, name)
);

CREATE FUNCTION migration.check_loadable(target regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = target)
       NOT IN ('staging', 'kgv') THEN
        RAISE EXCEPTION 'only staging and kgv tables are bulk loaded, not %', target;
    END IF;
END
$$;

-- Drop the secondary indexes and foreign keys and disable the audit triggers of an empty
-- table, as the owner would (the same catalogue queries as BulkLoad.begin).
CREATE FUNCTION migration.bulk_load_begin(target regclass) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    o record;
    empty boolean;
    n integer := 0;
BEGIN
    PERFORM migration.check_loadable(target);
    EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s)', target) INTO empty;
    IF NOT empty THEN
        RAISE EXCEPTION 'bulk load into % refused: the table is not empty', target;
    END IF;
    FOR o IN SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid = target
                AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
              ORDER BY c.relname
    LOOP
        INSERT INTO migration.bulk_load_deferred
        VALUES (target, 'index', o.relname, regexp_replace(o.def, ' ON ONLY ', ' ON '));
        EXECUTE format('DROP INDEX %I.%I',
                       (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = target),
                       o.relname);
        n := n + 1;
    END LOOP;
    FOR o IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
              WHERE conrelid = target AND contype = 'f' AND conparentid = 0 ORDER BY conname
    LOOP
        INSERT INTO migration.bulk_load_deferred VALUES (target, 'foreign key', o.conname, o.def);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', target, o.conname);
        n := n + 1;
    END LOOP;
    FOR o IN SELECT tgname FROM pg_trigger
              WHERE tgrelid = target AND NOT tgisinternal AND tgenabled <> 'D'
                AND tgname LIKE 'audit%' ORDER BY tgname
    LOOP
        INSERT INTO migration.bulk_load_deferred VALUES (target, 'trigger', o.tgname, NULL);
        EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', target, o.tgname);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- Build the indexes, add (and so validate) the foreign keys, enable the triggers again.
CREATE FUNCTION migration.bulk_load_finish(target regclass) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    o record;
    n integer := 0;
BEGIN
    PERFORM migration.check_loadable(target);
    FOR o IN DELETE FROM migration.bulk_load_deferred WHERE relation = target
             RETURNING kind, name, definition
    LOOP
        IF o.kind = 'index' THEN
            EXECUTE o.definition;
        ELSIF o.kind = 'foreign key' THEN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', target, o.name, o.definition);
        ELSE
            EXECUTE format('ALTER TABLE %s ENABLE TRIGGER %I', target, o.name);
        END IF;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- ANALYZE needs the owner in PostgreSQL 15; the loader asks for it on its tables.
CREATE FUNCTION migration.analyze_table(target regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    PERFORM migration.check_loadable(target);
    EXECUTE format('ANALYZE %s', target);
END
$$;

-- Removes the named fields from the old and new rows of the audit trail of one table where
-- the row (old or new) has match_field = key: the erasure of an applicant's personal data in
-- the trail, the only change to audit.log anyone but its owner may make.
CREATE FUNCTION audit.redact(tbl text, match_field text, key text, fields text[])
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    n bigint;
    nulls jsonb := (SELECT coalesce(jsonb_object_agg(f, NULL::text), '{}') FROM unnest(fields) f);
BEGIN
    UPDATE audit.log
       SET old_row = CASE WHEN old_row IS NULL THEN NULL ELSE old_row || nulls END,
           new_row = CASE WHEN new_row IS NULL THEN NULL ELSE new_row || nulls END
     WHERE table_name = tbl
       AND (lower(old_row ->> match_field) = lower(key) OR lower(new_row ->> match_field) = lower(key));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- The audit trigger runs as its owner (SECURITY DEFINER), where current_user is that owner,
-- never who made the change: the trail names the login (session_user) instead.
ALTER TABLE audit.log ALTER COLUMN changed_by SET DEFAULT session_user;

-- Refreshing a materialized view and creating a partition need the owner: the loader calls
-- these as the owner.
ALTER FUNCTION kgv.refresh_reporting_views() SECURITY DEFINER;
ALTER FUNCTION kgv.refresh_reporting_views() SET search_path = pg_catalog, public;
ALTER FUNCTION kgv.ensure_history_partition(integer) SECURITY DEFINER;
ALTER FUNCTION kgv.ensure_history_partition(integer) SET search_path = pg_catalog, public;

-- Every object to kgv_owner and every grant, idempotent: run after each schema migration, so
-- what a later file creates (as the superuser) is owned and granted like the rest.
CREATE FUNCTION migration.assign_privileges() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    o record;
    s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['staging', 'kgv', 'migration', 'audit'] LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO kgv_owner', s);
    END LOOP;
    FOR o IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
              WHERE c.relnamespace::regnamespace::text IN ('staging', 'kgv', 'migration', 'audit')
                AND c.relkind IN ('r', 'p', 'm', 'S', 'v')
                AND c.relowner <> 'kgv_owner'::regrole
                -- sequences of identity and serial columns follow their table
                AND NOT (c.relkind = 'S' AND EXISTS (
                    SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                       AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO kgv_owner',
                       CASE o.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                      WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, o.rel);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
              WHERE p.pronamespace::regnamespace::text IN ('kgv', 'migration', 'audit')
                AND p.proowner <> 'kgv_owner'::regrole
                AND p.oid <> 'migration.assign_privileges()'::regprocedure
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO kgv_owner', o.fn);
    END LOOP;

    -- The loader: data, never DDL (the functions above do the DDL-ish steps).
    GRANT USAGE ON SCHEMA staging, kgv, migration, audit TO kgv_loader;
    GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA staging, migration
        TO kgv_loader;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA kgv TO kgv_loader;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA staging, kgv, migration TO kgv_loader;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON migration.schema_migrations FROM kgv_loader;
    -- The loader takes the pre-migration snapshot (pg_dump of the four schemas): it reads
    -- the audit trail too, which it writes through the triggers anyway.
    GRANT SELECT ON audit.log TO kgv_loader;
    GRANT SELECT ON ALL SEQUENCES IN SCHEMA audit TO kgv_loader;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON migration.bulk_load_deferred FROM kgv_loader;
    REVOKE ALL ON migration.bulk_load_deferred FROM kgv_readonly;
    REVOKE UPDATE, DELETE, TRUNCATE ON migration.erasures FROM kgv_loader;
    REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA migration FROM PUBLIC;
    REVOKE EXECUTE ON FUNCTION audit.redact(text, text, text, text[]) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION migration.bulk_load_begin(regclass),
        migration.bulk_load_finish(regclass), migration.analyze_table(regclass),
        kgv.refresh_reporting_views(), kgv.ensure_history_partition(integer),
        audit.redact(text, text, text, text[]) TO kgv_loader;

    -- Read only: everything the checks and the report read, minus the personal rows.
    GRANT USAGE ON SCHEMA staging, kgv, migration, audit TO kgv_readonly;
    GRANT SELECT ON ALL TABLES IN SCHEMA staging, kgv, migration, audit TO kgv_readonly;
    REVOKE SELECT ON migration.rejected_rows, audit.log FROM kgv_readonly;
    EXECUTE (SELECT format('GRANT SELECT (%s) ON migration.rejected_rows TO kgv_readonly',
                           string_agg(quote_ident(attname), ', ' ORDER BY attnum))
               FROM pg_attribute WHERE attrelid = 'migration.rejected_rows'::regclass
                AND attnum > 0 AND NOT attisdropped AND attname <> 'raw_row');
    EXECUTE (SELECT format('GRANT SELECT (%s) ON audit.log TO kgv_readonly',
                           string_agg(quote_ident(attname), ', ' ORDER BY attnum))
               FROM pg_attribute WHERE attrelid = 'audit.log'::regclass
                AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('old_row', 'new_row'));

    -- The reviewer: the personal rows too, and what an erasure changes.
    GRANT SELECT ON migration.rejected_rows, audit.log TO kgv_reviewer;
    GRANT UPDATE ON migration.rejected_rows, kgv.applications, kgv.application_history
        TO kgv_reviewer;
    GRANT UPDATE ON ALL TABLES IN SCHEMA staging TO kgv_reviewer;
    GRANT SELECT, INSERT ON migration.erasures TO kgv_reviewer;
    GRANT EXECUTE ON FUNCTION audit.redact(text, text, text, text[]),
        migration.analyze_table(regclass) TO kgv_reviewer;

    -- What the owner creates later (a history partition made while loading) is granted alike.
    ALTER DEFAULT PRIVILEGES FOR ROLE kgv_owner IN SCHEMA staging, migration
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO kgv_loader;
    ALTER DEFAULT PRIVILEGES FOR ROLE kgv_owner IN SCHEMA kgv
        GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kgv_loader;
    ALTER DEFAULT PRIVILEGES FOR ROLE kgv_owner IN SCHEMA kgv
        GRANT UPDATE ON TABLES TO kgv_reviewer;
    ALTER DEFAULT PRIVILEGES FOR ROLE kgv_owner IN SCHEMA staging, kgv, migration
        GRANT USAGE, SELECT ON SEQUENCES TO kgv_loader;
    ALTER DEFAULT PRIVILEGES FOR ROLE kgv_owner IN SCHEMA staging, migration
        GRANT SELECT ON TABLES TO kgv_readonly;

    -- The application keeps its rights on kgv (090) and on new partitions.
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA kgv TO kgv_app;
    REVOKE ALL ON audit.log FROM kgv_app;
END
$$;
REVOKE EXECUTE ON FUNCTION migration.assign_privileges() FROM PUBLIC;

SELECT migration.assign_privileges();
