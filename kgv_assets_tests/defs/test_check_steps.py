"""How one check step evaluates its checks (``kgv_assets.defs.checks.factory``).

Covers: the checks of a step run side by side (``CHECK_THREADS`` at once, each on a connection
of its own to a real PostgreSQL), their outcomes come back in declaration order, and a check
that raises is returned as its error while the others still report.
"""

from __future__ import annotations

import threading

import psycopg

from kgv_assets.defs.checks.factory import (
    CHECK_THREADS,
    Check,
    StepSource,
    evaluate_side_by_side,
)
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.validation.outcome import Outcome


def test_checks_of_a_step_run_side_by_side_and_report_in_order(pg_url: str) -> None:
    # Each of the first CHECK_THREADS checks waits until all of them have started: one after
    # the other, the first would wait alone until the barrier's timeout breaks it.
    barrier = threading.Barrier(CHECK_THREADS, timeout=60)
    backends: list[int] = []

    def meets(conn: psycopg.Connection, _legacy: StepSource, _scope: list[str] | None) -> Outcome:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        backends.append(int(row[0]))
        barrier.wait()
        return Outcome(True, "ERROR", f"met after {len(backends)} started")

    def fails(_conn: psycopg.Connection, _legacy: StepSource, _scope: list[str] | None) -> Outcome:
        raise ValueError("the check could not run")

    def counts(conn: psycopg.Connection, _legacy: StepSource, scope: list[str] | None) -> Outcome:
        row = conn.execute("SELECT count(*) FROM generate_series(1, 1000)").fetchone()
        assert row is not None
        return Outcome(row[0] == 1000, "WARN", f"counted {row[0]} in {scope}")

    checks = [
        *(Check(f"meets_{i}", "waits for the others", meets, True) for i in range(CHECK_THREADS)),
        Check("fails", "raises", fails, True),
        Check("counts", "one query", counts, False),
    ]
    postgres = PostgresResource(url=pg_url)
    legacy = StepSource(LegacySourceResource(url="sqlite:///never-read.sqlite"), ["2021"])
    try:
        results = list(evaluate_side_by_side(postgres, legacy, checks))
    finally:
        postgres.close()

    assert len(results) == len(checks)
    for outcome in results[:CHECK_THREADS]:
        assert isinstance(outcome, Outcome) and outcome.passed
    assert len(set(backends)) == CHECK_THREADS, "each check on a connection of its own"
    assert isinstance(results[CHECK_THREADS], ValueError)
    last = results[-1]
    assert isinstance(last, Outcome) and last.passed and last.summary == "counted 1000 in ['2021']"
