"""The instance of dagster.yaml: Dagster's storages in PostgreSQL, reusing their connections.

Stores a hundred events through an instance made from the project's dagster.yaml and counts the
sessions PostgreSQL saw being opened (``pg_stat_database.sessions``): dagster-postgres on its own
opens several per event.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kgv_assets.storage import (
    PooledPostgresEventLogStorage,
    PooledPostgresRunStorage,
    PooledPostgresScheduleStorage,
)
from kgv_assets_tests.conftest import dagster_env, scalar


def _sessions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(
            scalar(conn, "SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        )


@pytest.fixture
def instance_env(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DAGSTER_HOME with the project's dagster.yaml, storage in ``pg_url`` (returned)."""
    for name, value in dagster_env(tmp_path / "home", pg_url, "sqlite://").items():
        monkeypatch.setenv(name, value)
    return pg_url


def test_the_storages_keep_their_connection(instance_env: str) -> None:
    pg_url = instance_env
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PooledPostgresRunStorage)
        assert isinstance(instance.event_log_storage, PooledPostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PooledPostgresScheduleStorage)
        run = instance.create_run_for_job(dg.GraphDefinition("g").to_job(), run_id=None)
        before = _sessions(pg_url)
        for i in range(100):
            instance.report_engine_event(f"event {i}", run)
        opened = _sessions(pg_url) - before
        assert len(instance.all_logs(run.run_id)) >= 100
    assert opened <= 5, f"{opened} sessions opened for 100 events"


def test_the_storages_commit_without_waiting_for_the_wal(instance_env: str) -> None:
    with dg.DagsterInstance.get() as instance:
        for storage in (
            instance.run_storage,
            instance.event_log_storage,
            instance.schedule_storage,
        ):
            with storage._engine.connect() as conn:  # type: ignore[union-attr]
                setting = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
            assert setting == "off", type(storage).__name__
    # The migration's own sessions keep PostgreSQL's default.
    with psycopg.connect(instance_env) as conn:
        assert scalar(conn, "SHOW synchronous_commit") == "on"
