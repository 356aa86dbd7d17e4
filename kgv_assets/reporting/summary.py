"""The per-table summary printed after a migration (like pgloader's): counts, timings, memory."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from kgv_assets.legacy.catalogue import TABLES


@dataclass(frozen=True)
class SummaryRow:
    """One table's totals over all partitions for one stage."""

    source_table: str
    target_table: str
    partitions: int
    source_rows: int
    loaded_rows: int
    quarantined_rows: int
    seconds: float
    peak_rss_mib: float | None = None

    @property
    def rows_per_second(self) -> float:
        """Source rows per second of load time."""
        return self.source_rows / self.seconds if self.seconds else 0.0


def summary(conn: psycopg.Connection, stage: str) -> list[SummaryRow]:
    """Totals per legacy table from ``migration.reconciliation`` for ``stage``."""
    rows = conn.execute(
        """SELECT source_table, max(target_table), count(*)::int, sum(source_rows)::bigint,
                  sum(loaded_rows)::bigint, sum(quarantined_rows)::bigint,
                  -- one load covers several partitions and records its time on each
                  max(seconds), max(peak_rss_mib)
             FROM migration.reconciliation WHERE stage = %s GROUP BY source_table""",
        (stage,),
    ).fetchall()
    by_name = {
        r[0]: SummaryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or 0.0, r[7]) for r in rows
    }
    return [by_name[t.name] for t in TABLES if t.name in by_name]


def _line(r: SummaryRow) -> str:
    peak = f"{r.peak_rss_mib:>10.0f}" if r.peak_rss_mib is not None else f"{'-':>10}"
    return (
        f"{r.source_table:<26}{r.partitions:>11}{r.source_rows:>10}{r.loaded_rows:>10}"
        f"{r.quarantined_rows:>13}{r.seconds:>9.2f}{r.rows_per_second:>10.0f}{peak}"
    )


def overall(staged: list[SummaryRow], loaded: list[SummaryRow]) -> str:
    """One line for the whole migration: legacy rows, load seconds of both stages, peak memory."""
    rows = sum(r.source_rows for r in staged)
    seconds = sum(r.seconds for r in staged) + sum(r.seconds for r in loaded)
    peaks = [r.peak_rss_mib for r in [*staged, *loaded] if r.peak_rss_mib is not None]
    rate = f"{rows / seconds:,.0f} rows/s" if seconds else "no load time recorded"
    peak = f"peak memory {max(peaks):,.0f} MiB" if peaks else "peak memory not recorded"
    return (
        f"full migration: {rows:,} legacy rows, {seconds:,.1f} s of load time "
        f"(staging + target), {rate}; {peak} (largest resident set of a loading process)"
    )


def format_table(rows: list[SummaryRow], loaded_label: str) -> str:
    """A fixed-width text table with a total line."""
    head = (
        f"{'table':<26}{'partitions':>11}{'source':>10}{loaded_label:>10}"
        f"{'quarantined':>13}{'seconds':>9}{'rows/s':>10}{'peak MiB':>10}"
    )
    peaks = [r.peak_rss_mib for r in rows if r.peak_rss_mib is not None]
    total = SummaryRow(
        "total",
        "",
        sum(r.partitions for r in rows),
        sum(r.source_rows for r in rows),
        sum(r.loaded_rows for r in rows),
        sum(r.quarantined_rows for r in rows),
        sum(r.seconds for r in rows),
        max(peaks) if peaks else None,
    )
    rule = "-" * len(head)
    return "\n".join([head, rule, *map(_line, rows), rule, _line(total)])
