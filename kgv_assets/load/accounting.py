"""The accounting of the migration (``migration.reconciliation``).

Per legacy table, partition and stage: source rows = loaded rows + quarantined rows. The
database enforces the identity with a CHECK constraint, so a load whose numbers do not add up
fails instead of being recorded.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import psycopg

Stage = Literal["staging", "target"]


@dataclass(frozen=True)
class PartitionCount:
    """Rows of one partition: read from the source, loaded, quarantined."""

    partition: str
    source_rows: int
    loaded_rows: int
    quarantined_rows: int


def peak_rss_mib() -> float:
    """The largest resident set of this process so far, in MiB (``getrusage``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, else KiB


def record(
    conn: psycopg.Connection,
    *,
    source_table: str,
    target_table: str,
    stage: Stage,
    counts: Iterable[PartitionCount],
    seconds: float,
    run_id: str,
) -> None:
    """Upsert the reconciliation rows of one load (one row per partition, with peak memory)."""
    peak = peak_rss_mib()
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO migration.reconciliation AS r (source_table, partition, stage,
                   target_table, source_rows, loaded_rows, quarantined_rows, seconds, run_id,
                   peak_rss_mib)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (source_table, partition, stage) DO UPDATE SET
                   target_table = excluded.target_table, source_rows = excluded.source_rows,
                   loaded_rows = excluded.loaded_rows,
                   quarantined_rows = excluded.quarantined_rows, seconds = excluded.seconds,
                   run_id = excluded.run_id, peak_rss_mib = excluded.peak_rss_mib,
                   reconciled_at = now()""",
            [
                (
                    source_table,
                    c.partition,
                    stage,
                    target_table,
                    c.source_rows,
                    c.loaded_rows,
                    c.quarantined_rows,
                    seconds,
                    run_id,
                    peak,
                )
                for c in counts
            ],
        )
