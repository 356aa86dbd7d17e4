-- Extensions, schemas and the three roles of the target database.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SCHEMA IF NOT EXISTS kgv;
COMMENT ON SCHEMA kgv IS 'The KGV (allotment-garden administration) data, migrated from SQL Server.';
CREATE SCHEMA IF NOT EXISTS audit;
COMMENT ON SCHEMA audit IS 'Who changed what in kgv after the migration (old and new rows as jsonb).';

-- Roles are cluster-wide: create them once, never fail when another database made them.
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['kgv_owner', 'kgv_app', 'kgv_readonly'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;
COMMENT ON ROLE kgv_owner IS 'Owns the kgv schema objects (NOLOGIN; grant it to the DBA).';
COMMENT ON ROLE kgv_app IS 'The application: reads and writes kgv, reads the reporting views.';
COMMENT ON ROLE kgv_readonly IS 'Reporting and sign-off: reads kgv, audit and migration.';
