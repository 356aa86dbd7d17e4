-- Optional access logging with pgaudit (Debian: postgresql-15-pgaudit). Reads of the tables
-- with personal data by any login are written to the server log, as object audit lines:
--   AUDIT: OBJECT,<n>,1,READ,SELECT,TABLE,kgv.applications,<statement>,<not logged>
--
-- 1. postgresql.conf (restart):
--      shared_preload_libraries = 'pgaudit'
--      pgaudit.role = 'kgv_auditor'     # object audit: what this role is granted is logged
--      pgaudit.log = 'ddl, role'        # session audit: schema and role/grant changes
--      pgaudit.log_parameter = off      # never the bound values (they are personal data)
--      pgaudit.log_relation = on
--    PostGIS refuses to be installed while pgaudit.log logs DDL: create the extension first,
--    or with SET pgaudit.log = 'none' in that session.
-- 2. this file, once per database, as the superuser:
--      psql "$KGV_PG_OWNER_URL" -f sql/optional/pgaudit.sql
CREATE EXTENSION IF NOT EXISTS pgaudit;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kgv_auditor') THEN
        CREATE ROLE kgv_auditor NOLOGIN;
    END IF;
END
$$;
COMMENT ON ROLE kgv_auditor IS 'pgaudit.role: statements on what it is granted are logged.';
-- The personal tables; SELECT granted here means "log every SELECT", it lets nobody read.
GRANT SELECT ON kgv.applications, kgv.application_history, migration.rejected_rows, audit.log
    TO kgv_auditor;
GRANT SELECT ON ALL TABLES IN SCHEMA staging TO kgv_auditor;
