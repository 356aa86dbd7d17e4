-- Privileges: kgv_owner owns the kgv objects; kgv_app reads and writes; kgv_readonly reads.
-- The migrating user becomes a member of kgv_owner, so it keeps loading and refreshing.
GRANT kgv_owner TO CURRENT_USER;

DO $$
DECLARE o record;
BEGIN
    EXECUTE 'ALTER SCHEMA kgv OWNER TO kgv_owner';
    FOR o IN SELECT c.relname, c.relkind FROM pg_class c
              WHERE c.relnamespace = 'kgv'::regnamespace AND c.relkind IN ('r', 'p', 'm', 'S')
    LOOP
        EXECUTE format('ALTER %s kgv.%I OWNER TO kgv_owner',
                       CASE o.relkind WHEN 'm' THEN 'MATERIALIZED VIEW'
                                      WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, o.relname);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
              WHERE p.pronamespace = 'kgv'::regnamespace
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO kgv_owner', o.fn);
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA kgv TO kgv_app, kgv_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA kgv TO kgv_app, kgv_readonly;
GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA kgv TO kgv_app;
GRANT EXECUTE ON FUNCTION kgv.search_applicants(text, integer) TO kgv_app, kgv_readonly;
REVOKE EXECUTE ON FUNCTION kgv.refresh_reporting_views() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION kgv.ensure_history_partition(integer) FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE kgv_owner IN SCHEMA kgv
    GRANT SELECT ON TABLES TO kgv_app, kgv_readonly;
ALTER DEFAULT PRIVILEGES FOR ROLE kgv_owner IN SCHEMA kgv
    GRANT INSERT, UPDATE, DELETE ON TABLES TO kgv_app;

GRANT USAGE ON SCHEMA audit, migration TO kgv_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA audit, migration TO kgv_readonly;
REVOKE ALL ON audit.log FROM kgv_app;
