-- Version-aware source SQL (issue 13): which strategy computed each recorded fingerprint.
-- The legacy server's version decides how a row is hashed (kgv_assets/legacy/dialects.py:
-- SHA-1 in pieces on SQL Server 2005/2008, SHA-256 in pieces on 2012/2014, SHA-256 on 2016+,
-- hashed by the client on 2000, BLAKE2b on SQLite). Fingerprints of different strategies hash
-- different bytes and are never compared: after a server upgrade the sync compares such
-- partitions by row count and records the new strategy's fingerprint (a re-baseline) instead of
-- reloading everything. NULL: recorded before strategies were (treated as another strategy).
-- migration.dependency_fingerprints needs no such column: PostgreSQL computes those from the
-- kgv tables, whatever the source server.

ALTER TABLE migration.partition_fingerprints ADD COLUMN strategy text;
COMMENT ON COLUMN migration.partition_fingerprints.strategy IS
    'Fingerprint strategy (kgv_assets.legacy.dialects) that computed row_count/checksums.';
