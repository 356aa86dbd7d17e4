"""The accounting of the migration (``migration.reconciliation``) and the tally of a load.

Per legacy table, partition and stage: source rows = loaded rows + quarantined rows. The
database enforces the identity with a CHECK constraint, so a load whose numbers do not add up
fails instead of being recorded. Both stages count their rows with one ``Tally`` while they
load and report with one ``LoadResult``.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import pandas as pd
import psycopg

Stage = Literal["staging", "target"]
T = TypeVar("T")


class StageTimer:
    """Seconds a load spends per part: extract, validate, transform, write, indexes.

    ``make bench`` reads them as ``seconds_<part>`` from the materialization metadata.
    """

    def __init__(self) -> None:
        """No time yet."""
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Count the time of the ``with`` block to ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def iterate(self, name: str, items: Iterable[T]) -> Iterator[T]:
        """``items``, the time spent producing each counted to ``name``."""
        iterator = iter(items)
        while True:
            with self.part(name):
                item = next(iterator, _END)
            if item is _END:
                return
            yield item  # type: ignore[misc]  # not _END here


_END = object()


@dataclass(frozen=True)
class PartitionCount:
    """Rows of one partition: read from the source, loaded, quarantined."""

    partition: str
    source_rows: int
    loaded_rows: int
    quarantined_rows: int


@dataclass
class Tally:
    """What one load counted so far, per partition: rows read, loaded, quarantined; reasons."""

    read: Counter[str] = field(default_factory=Counter)
    loaded: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    @staticmethod
    def _count(into: Counter[str], partitions: pd.Series) -> None:
        into.update({str(k): int(n) for k, n in partitions.value_counts().items()})

    def add_read(self, partitions: pd.Series) -> None:
        """Count rows read, given the partition of each."""
        self._count(self.read, partitions)

    def add_loaded(self, partitions: pd.Series) -> None:
        """Count rows loaded, given the partition of each."""
        self._count(self.loaded, partitions)

    def add_quarantined(self, partitions: pd.Series, reasons: pd.Series) -> None:
        """Count rows quarantined (their partitions) and their reasons (a list per row)."""
        self._count(self.quarantined, partitions)
        if len(reasons):
            self.reasons.update(
                {str(r): int(n) for r, n in reasons.explode().value_counts().items()}
            )

    def counts(self, requested: Iterable[str] = ()) -> dict[str, PartitionCount]:
        """Per partition read or ``requested`` (key order): rows read, loaded, quarantined."""
        return {
            key: PartitionCount(key, self.read[key], self.loaded[key], self.quarantined[key])
            for key in sorted(set(self.read) | set(requested))
        }

    def reason_counts(self) -> pd.Series:
        """Rows per reason, the most frequent last (a row counts once per reason)."""
        return pd.Series(dict(self.reasons), dtype="int64").sort_values()


@dataclass(frozen=True)
class MergeCounts:
    """What a merge into the target did."""

    inserted: int
    updated: int
    deleted: int


@dataclass(frozen=True)
class LoadResult:
    """What one load of one stage did, per partition.

    Attributes:
        source_table: The legacy table.
        table: Where it loaded, ``schema.table`` (``staging.Antrag``, ``kgv.applications``).
        stage: ``staging`` or ``target``.
        counts: Per partition: source rows, loaded rows, quarantined rows (at any stage so far).
        reasons: Rows quarantined by this load per reason.
        seconds: Wall-clock seconds of the load.
        merged: What the merge into the target did (target loads only).
        parts: Seconds per part of the load (``StageTimer``).
    """

    source_table: str
    table: str
    stage: Stage
    counts: dict[str, PartitionCount]
    reasons: pd.Series
    seconds: float
    merged: MergeCounts | None = None
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def source_rows(self) -> int:
        """Legacy rows of the loaded partitions."""
        return sum(c.source_rows for c in self.counts.values())

    @property
    def loaded_rows(self) -> int:
        """Rows the stage now holds for these partitions."""
        return sum(c.loaded_rows for c in self.counts.values())

    @property
    def quarantined_rows(self) -> int:
        """Rows of these partitions in the quarantine."""
        return sum(c.quarantined_rows for c in self.counts.values())

    @property
    def rows_per_second(self) -> int:
        """Legacy rows per second of the load."""
        return round(self.source_rows / self.seconds) if self.seconds else 0

    @property
    def partitions(self) -> Sequence[str]:
        """The partitions loaded."""
        return list(self.counts)


def peak_rss_mib() -> float:
    """The largest resident set of this process so far, in MiB (``getrusage``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, else KiB


def record(conn: psycopg.Connection, result: LoadResult, run_id: str) -> None:
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
                    result.source_table,
                    c.partition,
                    result.stage,
                    result.table,
                    c.source_rows,
                    c.loaded_rows,
                    c.quarantined_rows,
                    result.seconds,
                    run_id,
                    peak,
                )
                for c in result.counts.values()
            ],
        )
