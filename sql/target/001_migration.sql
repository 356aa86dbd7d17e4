-- Bookkeeping of the migration itself: the staging area, the quarantine and the accounting.
-- Every legacy row ends up loaded or in migration.rejected_rows; migration.reconciliation
-- proves it per table and partition.

CREATE SCHEMA IF NOT EXISTS staging;
COMMENT ON SCHEMA staging IS 'Legacy tables landed losslessly (one table per legacy table, same names).';

CREATE SCHEMA IF NOT EXISTS migration;
COMMENT ON SCHEMA migration IS 'Quarantine and accounting of the KGV migration.';

CREATE TABLE migration.rejected_rows (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_table text        NOT NULL,  -- the legacy table's name as in SQL Server, e.g. 'Antrag'
    source_key   text,                  -- the legacy ID as text; NULL where the table has none
    partition    text        NOT NULL,  -- the legacy partition ('2019', 'undated', or 'all')
    stage        text        NOT NULL CHECK (stage IN ('legacy', 'transform', 'target')),
    reasons      text[]      NOT NULL CHECK (cardinality(reasons) > 0),
    raw_row      jsonb       NOT NULL,  -- the legacy row as read; see raw_row_encoding below
    row_hash     bigint      NOT NULL,  -- content hash of the legacy row (same code as staging)
    run_id       text        NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE migration.rejected_rows IS
    'One row per rejected legacy row, whichever stage rejected it, with every reason.';
COMMENT ON COLUMN migration.rejected_rows.raw_row IS
    'Legacy column -> value as text. A value PostgreSQL text cannot hold (NUL byte, invalid '
    'UTF-8) is stored as {"base64": "<utf-8 bytes, surrogateescape>"} and named in reasons.';
CREATE INDEX rejected_rows_table_partition ON migration.rejected_rows (source_table, partition, stage);

CREATE TABLE migration.reconciliation (
    source_table     text        NOT NULL,
    partition        text        NOT NULL,
    stage            text        NOT NULL CHECK (stage IN ('staging', 'target')),
    target_table     text        NOT NULL,
    source_rows      bigint      NOT NULL,
    loaded_rows      bigint      NOT NULL,
    quarantined_rows bigint      NOT NULL,
    seconds          double precision,
    run_id           text        NOT NULL,
    reconciled_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_table, partition, stage),
    CONSTRAINT accounting_identity CHECK (source_rows = loaded_rows + quarantined_rows)
);
COMMENT ON TABLE migration.reconciliation IS
    'Per legacy table, partition and stage: source rows = loaded rows + quarantined rows.';
