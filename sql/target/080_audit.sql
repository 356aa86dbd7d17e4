-- The audit trail: every INSERT, UPDATE and DELETE on the kgv tables after the migration,
-- with who, when, the transaction, and the old and new row as jsonb. DELETE really deletes
-- the kgv row; the audit keeps its last content.
--
-- Statement-level triggers with transition tables write one audit row per changed row in a
-- single set-based INSERT, so bulk changes stay fast. The migration's initial bulk load is not
-- a change of data: the loader switches auditing off for its own transaction only with
-- SET LOCAL kgv.audit = 'off'. Incremental reloads are audited (only rows that really change
-- are written by the loader, so the trail shows real changes).

CREATE TABLE audit.log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name       text        NOT NULL,
    operation        text        NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    row_key          jsonb       NOT NULL,
    old_row          jsonb,
    new_row          jsonb,
    changed_by       text        NOT NULL DEFAULT current_user,
    session_user_name text       NOT NULL DEFAULT session_user,
    application_name text        DEFAULT current_setting('application_name', true),
    transaction_id   bigint      NOT NULL DEFAULT txid_current(),
    changed_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE audit.log IS 'Changes to kgv tables: who, when, old and new row.';
CREATE INDEX audit_log_table_time ON audit.log (table_name, changed_at);
CREATE INDEX audit_log_row_key ON audit.log USING gin (row_key);

CREATE FUNCTION audit.record_statement() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    tbl  text := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME);
    key  text;
    pair text;
BEGIN
    IF current_setting('kgv.audit', true) = 'off' THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(format('%L, r.%I', k, k), ', '), string_agg(format('o.%I = r.%I', k, k), ' AND ')
      INTO key, pair
      FROM unnest(TG_ARGV) AS k;
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO audit.log (table_name, operation, row_key, new_row) '
                       'SELECT %L, ''INSERT'', jsonb_build_object(%s), to_jsonb(r) FROM new_rows r',
                       tbl, key);
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO audit.log (table_name, operation, row_key, old_row) '
                       'SELECT %L, ''DELETE'', jsonb_build_object(%s), to_jsonb(r) FROM old_rows r',
                       tbl, key);
    ELSE
        EXECUTE format('INSERT INTO audit.log (table_name, operation, row_key, old_row, new_row) '
                       'SELECT %L, ''UPDATE'', jsonb_build_object(%s), to_jsonb(o), to_jsonb(r) '
                       'FROM new_rows r JOIN old_rows o ON %s', tbl, key, pair);
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t record;
    args text;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('districts', ARRAY['id']), ('cadastral_districts', ARRAY['id']),
        ('district_cadastral_links', ARRAY['district_id', 'cadastral_district_id']),
        ('file_references', ARRAY['id']), ('entry_numbers', ARRAY['id']),
        ('event_types', ARRAY['code']), ('users', ARRAY['id']), ('identifiers', ARRAY['id']),
        ('field_mappings', ARRAY['id']), ('applications', ARRAY['id']),
        ('application_history', ARRAY['id'])) AS v (name, keys)
    LOOP
        SELECT string_agg(quote_literal(k), ', ') INTO args FROM unnest(t.keys) AS k;
        EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON kgv.%I REFERENCING NEW TABLE '
                       'AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.record_statement(%s)',
                       t.name, args);
        EXECUTE format('CREATE TRIGGER audit_update AFTER UPDATE ON kgv.%I REFERENCING OLD TABLE '
                       'AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION audit.record_statement(%s)', t.name, args);
        EXECUTE format('CREATE TRIGGER audit_delete AFTER DELETE ON kgv.%I REFERENCING OLD TABLE '
                       'AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.record_statement(%s)',
                       t.name, args);
    END LOOP;
END
$$;
