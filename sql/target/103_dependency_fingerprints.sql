-- Incremental sync: what a cross-partition dependent was last loaded against.
-- application_history looks up which applications exist, applications look up the file
-- references by (district_code, number, year). A load of such a table over all its partitions
-- records here a fingerprint (row count and a checksum) of exactly the parent columns it looked
-- up, taken before it read them. The sync reloads the dependent over all partitions only when
-- the parent's fingerprint differs from this one: an application deleted or newly loaded, a
-- file reference added, removed or renumbered. An update of other parent columns changes
-- nothing the dependent used, so it reloads nothing (kgv_assets/sync/dependencies.py).

CREATE TABLE migration.dependency_fingerprints (
    target_table text        NOT NULL,  -- the dependent, e.g. 'application_history'
    parent_table text        NOT NULL,  -- the table it looks up, e.g. 'applications'
    fingerprint  text        NOT NULL,  -- '<rows>:<sum of 64-bit hashes of the looked-up columns>'
    run_id       text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target_table, parent_table)
);
COMMENT ON TABLE migration.dependency_fingerprints IS
    'Parent columns a cross-partition dependent was last loaded against (incremental sync).';

GRANT SELECT ON migration.dependency_fingerprints TO kgv_readonly;
