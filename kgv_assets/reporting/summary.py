"""The per-table summary printed after a migration (like pgloader's): counts and timings only."""

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
                  max(seconds)
             FROM migration.reconciliation WHERE stage = %s GROUP BY source_table""",
        (stage,),
    ).fetchall()
    by_name = {r[0]: SummaryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or 0.0) for r in rows}
    return [by_name[t.name] for t in TABLES if t.name in by_name]


def _line(r: SummaryRow) -> str:
    return (
        f"{r.source_table:<26}{r.partitions:>11}{r.source_rows:>10}{r.loaded_rows:>10}"
        f"{r.quarantined_rows:>13}{r.seconds:>9.2f}{r.rows_per_second:>10.0f}"
    )


def format_table(rows: list[SummaryRow], loaded_label: str) -> str:
    """A fixed-width text table with a total line."""
    head = (
        f"{'table':<26}{'partitions':>11}{'source':>10}{loaded_label:>10}"
        f"{'quarantined':>13}{'seconds':>9}{'rows/s':>10}"
    )
    total = SummaryRow(
        "total",
        "",
        sum(r.partitions for r in rows),
        sum(r.source_rows for r in rows),
        sum(r.loaded_rows for r in rows),
        sum(r.quarantined_rows for r in rows),
        sum(r.seconds for r in rows),
    )
    rule = "-" * len(head)
    return "\n".join([head, rule, *map(_line, rows), rule, _line(total)])
