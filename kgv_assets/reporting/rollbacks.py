"""Rollbacks in the report: each ``kgv migrate rollback`` as an INFO finding of the verdict.

Read from ``migration.rollbacks`` (``sql/target/110_rollbacks.sql``) in the report's snapshot.
A rollback changes no verdict — the figures after it are judged as they are — but whoever signs
off must see that the target was set back, to which snapshot, and which runs were undone. Only
times, names and counts are shown; the operator's free-text reason stays in the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from kgv_assets.reporting.model import Finding, Verdict


@dataclass(frozen=True)
class RollbackFigure:
    """One recorded rollback."""

    rolled_back_at: datetime
    snapshot: str
    snapshot_taken_at: datetime
    runs_undone: int
    rolled_back_by: str


def collect_rollbacks(conn: psycopg.Connection) -> list[RollbackFigure]:
    """Every rollback recorded in the target, oldest first (none before the table exists)."""
    found = conn.execute("SELECT to_regclass('migration.rollbacks') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return []
    rows = conn.execute(
        "SELECT rolled_back_at, snapshot, snapshot_taken_at, cardinality(runs_undone),"
        " rolled_back_by FROM migration.rollbacks ORDER BY rolled_back_at, id"
    ).fetchall()
    return [RollbackFigure(*r) for r in rows]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def with_rollbacks(verdict: Verdict, rollbacks: list[RollbackFigure]) -> Verdict:
    """``verdict`` with one INFO finding per rollback appended (its level unchanged)."""
    infos = tuple(
        Finding(
            "INFO",
            f"rolled back at {_utc(r.rolled_back_at)} by {r.rolled_back_by} to the "
            f"pre-migration snapshot {r.snapshot} (taken {_utc(r.snapshot_taken_at)}); "
            f"{r.runs_undone} run(s) undone",
        )
        for r in rollbacks
    )
    return Verdict(verdict.level, verdict.findings + infos)
