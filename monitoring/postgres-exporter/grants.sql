-- Least privileges of the exporter's login: the accounting, the quarantine's rule names, the
-- audit trail's table/operation/time and Dagster's run status - column privileges keep the row
-- contents (raw legacy rows, old/new rows, run bodies: personal data) out of its reach.
--
--   psql "$KGV_PG_URL" -v role=kgv_monitor -f monitoring/postgres-exporter/grants.sql
--
-- Create the login first (CREATE ROLE kgv_monitor LOGIN PASSWORD '...'), then point the
-- exporter's DATA_SOURCE_NAME at it.
\set ON_ERROR_STOP on
GRANT pg_monitor TO :"role";
GRANT USAGE ON SCHEMA migration, audit TO :"role";
GRANT SELECT ON migration.reconciliation TO :"role";
GRANT SELECT (id, source_table, stage, reasons) ON migration.rejected_rows TO :"role";
GRANT SELECT (table_name, operation, changed_at) ON audit.log TO :"role";
-- Dagster's run storage, where it lives in this database (schema public, dagster.yaml)
SELECT format('GRANT SELECT (pipeline_name, status, end_time) ON public.runs TO %I', :'role')
 WHERE to_regclass('public.runs') IS NOT NULL \gexec
