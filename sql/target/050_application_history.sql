-- Application history (legacy Verlauf), range-partitioned by event_date: one partition per
-- year (Europe/Berlin calendar years, the legacy system's local time) and a default
-- partition for undated rows and years without a partition yet.
--
-- PostgreSQL requires a unique index on a partitioned table to include the partition key,
-- and event_date is NULL for undated rows, so id cannot be a global primary key. id is NOT
-- NULL with a plain (partitioned) index; its uniqueness is guaranteed by the loader (it ranks
-- duplicate keys across all staged partitions) and checked by an asset check.

CREATE TABLE kgv.application_history (
    id               uuid NOT NULL,
    application_id   uuid NOT NULL REFERENCES kgv.applications,
    event_type       text REFERENCES kgv.event_types,
    event_date       timestamptz,
    gemarkung        text,
    flur             text,
    parcel           text,
    size_m2          numeric CHECK (size_m2 > 0),
    case_worker      text,
    note             text,
    comment          text,
    legacy           jsonb,
    legacy_hash      bigint NOT NULL,
    legacy_partition text NOT NULL
) PARTITION BY RANGE (event_date);
COMMENT ON TABLE kgv.application_history IS 'Events of an application (legacy Verlauf).';
COMMENT ON COLUMN kgv.application_history.size_m2 IS 'Plot size in square metres.';

CREATE TABLE kgv.application_history_default PARTITION OF kgv.application_history DEFAULT;

CREATE INDEX application_history_id ON kgv.application_history (id);
CREATE INDEX application_history_application ON kgv.application_history (application_id);
CREATE INDEX application_history_partition ON kgv.application_history (legacy_partition);
CREATE INDEX application_history_event_date ON kgv.application_history USING brin (event_date);

-- Creates the partition of one year; rows of that year already in the default partition are
-- moved into it (PostgreSQL refuses to add a partition while the default holds its rows).
-- The move is not a change of data: it runs on the partitions directly, which the statement
-- triggers of the audit trail (defined on the parent) do not see.
CREATE FUNCTION kgv.ensure_history_partition(year integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('application_history_%s', year);
    low  timestamptz := make_timestamptz(year, 1, 1, 0, 0, 0, 'Europe/Berlin');
    high timestamptz := make_timestamptz(year + 1, 1, 1, 0, 0, 0, 'Europe/Berlin');
BEGIN
    IF to_regclass(format('kgv.%I', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE kgv.%I (LIKE kgv.application_history INCLUDING DEFAULTS '
                   'INCLUDING CONSTRAINTS)', name);
    EXECUTE format('INSERT INTO kgv.%I SELECT * FROM kgv.application_history_default '
                   'WHERE event_date >= $1 AND event_date < $2', name) USING low, high;
    DELETE FROM kgv.application_history_default WHERE event_date >= low AND event_date < high;
    EXECUTE format('ALTER TABLE kgv.application_history ATTACH PARTITION kgv.%I '
                   'FOR VALUES FROM (%L) TO (%L)', name, low, high);
    RETURN true;
END
$$;
COMMENT ON FUNCTION kgv.ensure_history_partition(integer) IS
    'Create the yearly partition of application_history (idempotent).';

SELECT kgv.ensure_history_partition(y) FROM generate_series(1995, 2030) AS y;
