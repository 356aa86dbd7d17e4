"""GDPR erasures in the report: how many applicants were erased, as an INFO finding.

Read from ``migration.erasures`` (``sql/target/130_least_privilege.sql``). An erased
application stays loaded (its key, dates and history) with its personal columns NULL: in the
accounting it is a loaded row, and the content checks find it with the legacy row's hash. The
finding says how many rows of the target are such rows, so the counts are read right. Counts
and a date only: never a key or who asked.
"""

from __future__ import annotations

from datetime import UTC

import psycopg

from kgv_assets.reporting.model import Finding, Verdict


def count_erasures(conn: psycopg.Connection) -> tuple[int, str | None]:
    """The number of erased applicants and the day of the latest erasure (UTC)."""
    found = conn.execute("SELECT to_regclass('migration.erasures') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return 0, None
    row = conn.execute("SELECT count(*), max(erased_at) FROM migration.erasures").fetchone()
    if not row or not row[0]:
        return 0, None
    return int(row[0]), row[1].astimezone(UTC).date().isoformat()


def with_erasures(verdict: Verdict, erasures: tuple[int, str | None]) -> Verdict:
    """``verdict`` with one INFO finding when applicants were erased (its level unchanged)."""
    n, latest = erasures
    if not n:
        return verdict
    info = Finding(
        "INFO",
        f"{n} applicant(s) erased (GDPR Art. 17, latest {latest}): their applications are "
        "loaded and accounted as loaded rows with the personal columns removed; their legacy "
        "keys are suppressed in every later load",
    )
    return Verdict(verdict.level, (*verdict.findings, info))
