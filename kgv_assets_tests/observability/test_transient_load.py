"""Load steps retry a transient database error and never a data error, in real runs.

``full_migration`` of the demo source while a watcher ends the loader's connection with
``pg_terminate_backend`` in the middle of a COPY into a ``kgv`` table: the step goes up for
retry, is restarted after the policy's backoff, the run succeeds, and everything it wrote —
target, quarantine, accounting — equals a clean migration's (``snapshot``). A target table
given a CHECK constraint its rows break fails its load once, with no retry, and leaves the
table as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kgv_assets.definitions import defs
from kgv_assets.partitions import all_partitions_tags, register_partition_keys
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.schema_migrations import apply_sql_files
from kgv_assets_tests.conftest import Migrated, create_database, drop_database
from kgv_assets_tests.sync.conftest import snapshot

pytestmark = pytest.mark.slow

ACTIVE_COPY = """
SELECT pid, query FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND application_name = 'kgv_assets' AND state = 'active' AND starts_with(query, 'COPY "kgv".')
"""


class CopyTerminator(threading.Thread):
    """Ends the first backend found COPYing into a kgv table (once), then stops watching."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.terminated: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.done.is_set():
                for pid, query in conn.execute(ACTIVE_COPY).fetchall():
                    ended = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
                    if ended and ended[0]:
                        self.terminated = query
                        return
                self.done.wait(0.002)


@pytest.fixture
def target_url(monkeypatch: pytest.MonkeyPatch, demo_source: Path) -> Iterator[str]:
    url = create_database("kgv_transient")
    monkeypatch.setenv("KGV_PG_URL", url)
    monkeypatch.setenv("KGV_SOURCE_URL", f"sqlite:///{demo_source}")
    monkeypatch.setenv("KGV_SOURCE_SCHEMA", "")
    yield url
    drop_database(url)


def migrate(instance: dg.DagsterInstance, source: Path) -> dg.ExecuteInProcessResult:
    register_partition_keys(
        instance, LegacySourceResource(url=f"sqlite:///{source}").partition_keys()
    )
    job = defs().resolve_job_def("full_migration")
    return job.execute_in_process(
        instance=instance, tags=all_partitions_tags(instance), raise_on_error=False
    )


def step_events(result: dg.ExecuteInProcessResult, kind: dg.DagsterEventType) -> list[str]:
    return [e.step_key or "" for e in result.all_events if e.event_type == kind]


def test_a_terminated_copy_is_retried_and_the_run_ends_as_a_clean_one(
    target_url: str, demo_source: Path, shared_migration: Migrated
) -> None:
    watcher = CopyTerminator(target_url)
    watcher.start()
    try:
        with dg.instance_for_test() as instance:
            result = migrate(instance, demo_source)
    finally:
        watcher.done.set()
        watcher.join(timeout=10)
    assert watcher.terminated is not None, "no COPY into a kgv table was seen"
    retried = step_events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert len(retried) == 1, retried
    assert retried[0].startswith("kgv__")
    assert step_events(result, dg.DagsterEventType.STEP_RESTARTED) == retried
    assert step_events(result, dg.DagsterEventType.STEP_FAILURE) == []
    assert result.success
    assert snapshot(target_url) == snapshot(shared_migration.url)


def test_a_data_error_fails_its_load_once_and_is_never_retried(
    target_url: str, demo_source: Path
) -> None:
    with psycopg.connect(target_url, autocommit=True) as conn:
        apply_sql_files(conn)
        # a rule every legacy district breaks: its load is a data error, every time
        conn.execute(
            "ALTER TABLE kgv.districts ADD CONSTRAINT kgv_test_no_district"
            " CHECK (legacy_hash = 0) NOT VALID"
        )
    with dg.instance_for_test() as instance:
        result = migrate(instance, demo_source)
    assert not result.success
    assert step_events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY) == []
    assert step_events(result, dg.DagsterEventType.STEP_FAILURE) == ["kgv__districts"]
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    error = failure.step_failure_data.error
    assert error is not None
    assert "CheckViolation (SQLSTATE 23514) is not a transient database error" in error.message
    assert error.cause is not None and "kgv_test_no_district" in error.cause.message
    with psycopg.connect(target_url) as conn:
        assert conn.execute("SELECT count(*) FROM kgv.districts").fetchone() == (0,)
        # the load's transaction rolled back: no accounting row claims the districts loaded
        assert conn.execute(
            "SELECT count(*) FROM migration.reconciliation"
            " WHERE source_table = 'Bezirk' AND stage = 'target'"
        ).fetchone() == (0,)
