"""What was loaded: source fingerprints per staged partition (``migration.partition_fingerprints``).

The staging load records, in its own transaction, the fingerprint the source had right before
the partitions were read. Taking it *before* the read errs on the safe side: a change made
while the rows are read leaves the older fingerprint behind, so the next comparison sees a
difference and reloads the partition again; a change is never marked as loaded unread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import psycopg

from kgv_assets.legacy.fingerprint import Fingerprint
from kgv_assets.sync.changes import Baseline, Fingerprints


def record_fingerprints(
    conn: psycopg.Connection,
    source_table: str,
    fingerprints: Mapping[str, Fingerprint],
    partition_keys: Sequence[str] | None,
    run_id: str,
) -> None:
    """Replace the recorded fingerprints of the partitions just loaded.

    Args:
        conn: The connection of the staging load's transaction.
        source_table: The legacy table's name.
        fingerprints: The source's fingerprints of the loaded partitions: taken by the server
            before the read, or (SQLite) summed over the rows the load read.
        partition_keys: The partitions loaded; None for the whole table.
        run_id: The Dagster run that loaded them.
    """
    query = "DELETE FROM migration.partition_fingerprints WHERE source_table = %s"
    params: list[object] = [source_table]
    if partition_keys is not None:
        query += " AND partition = ANY(%s)"
        params.append(list(partition_keys))
    conn.execute(query, params)
    loaded = set(fingerprints) if partition_keys is None else set(partition_keys)
    rows = [
        (source_table, key, f.rows, f.high, f.low, f.strategy, run_id)
        for key, f in fingerprints.items()
        if key in loaded
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO migration.partition_fingerprints (source_table, partition, row_count,"
            " checksum_high, checksum_low, strategy, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def rebaseline(
    conn: psycopg.Connection, current: Fingerprints, partitions: Mapping[str, Sequence[str]]
) -> int:
    """Record the current fingerprints of ``partitions`` (same rows, another strategy).

    The load that staged them stays recorded (``run_id``); only what they are compared
    against changes. Returns the number of partitions re-baselined.
    """
    rows = [
        (f.rows, f.high, f.low, f.strategy, table, key)
        for table, keys in partitions.items()
        for key in keys
        if (f := current.get(table, {}).get(key)) is not None
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "UPDATE migration.partition_fingerprints SET row_count = %s, checksum_high = %s,"
            " checksum_low = %s, strategy = %s, recorded_at = now()"
            " WHERE source_table = %s AND partition = %s",
            rows,
        )
    return len(rows)


def loaded_fingerprints(conn: psycopg.Connection) -> Fingerprints:
    """Every recorded fingerprint; empty where nothing was loaded yet (or no schema)."""
    exists = conn.execute("SELECT to_regclass('migration.partition_fingerprints')").fetchone()
    if not exists or exists[0] is None:
        return {}
    out: Fingerprints = {}
    for table, key, rows, high, low, strategy in conn.execute(
        "SELECT source_table, partition, row_count, checksum_high, checksum_low, strategy"
        " FROM migration.partition_fingerprints"
    ):
        out.setdefault(table, {})[key] = Fingerprint(rows, high, low, strategy)
    return out


def unfinished_partitions(conn: psycopg.Connection) -> dict[str, set[str]]:
    """Per legacy table, partitions staged more recently than their target was loaded.

    A run whose staging step succeeded but whose target step failed leaves such partitions
    behind; the incremental migration reloads them even though the source did not change.
    """
    exists = conn.execute("SELECT to_regclass('migration.reconciliation')").fetchone()
    if not exists or exists[0] is None:
        return {}
    out: dict[str, set[str]] = {}
    for table, key in conn.execute(
        "SELECT s.source_table, s.partition FROM migration.reconciliation s"
        " LEFT JOIN migration.reconciliation t ON t.source_table = s.source_table"
        "  AND t.partition = s.partition AND t.stage = 'target'"
        " WHERE s.stage = 'staging' AND (t.reconciled_at IS NULL"
        "  OR t.reconciled_at < s.reconciled_at)"
    ):
        out.setdefault(table, set()).add(key)
    return out


def loaded_counts(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Per legacy table and partition, the source rows its last staging load read."""
    exists = conn.execute("SELECT to_regclass('migration.reconciliation')").fetchone()
    if not exists or exists[0] is None:
        return {}
    out: dict[str, dict[str, int]] = {}
    for table, key, rows in conn.execute(
        "SELECT source_table, partition, source_rows FROM migration.reconciliation"
        " WHERE stage = 'staging'"
    ):
        out.setdefault(table, {})[key] = rows
    return out


def loaded_baseline(conn: psycopg.Connection) -> Baseline:
    """What the target was loaded from: recorded fingerprints and staging row counts."""
    return Baseline(loaded_fingerprints(conn), loaded_counts(conn))
