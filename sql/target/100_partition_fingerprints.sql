-- Incremental sync: what each staged partition was loaded from.
-- Per legacy table and partition, the source's fingerprint (row count and content checksum,
-- computed by the source: kgv_assets/legacy/fingerprint.py) taken right before the partition's
-- last successful staging load, in the same transaction as the load. `kgv migrate incremental`
-- (the incremental_migration job) and the sync sensor compare the source against it and reload
-- only partitions whose fingerprint differs. A partition without rows has no entry.

CREATE TABLE migration.partition_fingerprints (
    source_table  text        NOT NULL,  -- the legacy table's name, e.g. 'Antrag'
    partition     text        NOT NULL,  -- '2019', 'undated', or 'all' (unpartitioned)
    row_count     bigint      NOT NULL CHECK (row_count > 0),
    checksum_high bigint      NOT NULL,  -- sum of the high 32 bits of the row hashes
    checksum_low  bigint      NOT NULL,  -- sum of the low 32 bits of the row hashes
    run_id        text        NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_table, partition)
);
COMMENT ON TABLE migration.partition_fingerprints IS
    'Source fingerprint of each staged partition as of its last load (incremental sync).';

GRANT SELECT ON migration.partition_fingerprints TO kgv_readonly;
