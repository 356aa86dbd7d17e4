-- The peak resident memory of the process that made each load (its largest resident set so
-- far, in MiB), so the summary can report the full migration's peak memory next to rows/s.
ALTER TABLE migration.reconciliation ADD COLUMN peak_rss_mib double precision;
COMMENT ON COLUMN migration.reconciliation.peak_rss_mib IS
    'Largest resident set (MiB) of the loading process up to the end of this load.';
