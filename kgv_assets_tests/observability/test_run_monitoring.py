"""Run monitoring and run retries for real: a run worker killed during a COPY.

A ``dagster-daemon`` runs with the shipped ``dagster.yaml`` (queued run coordinator, run
monitoring, run retries) on PostgreSQL storage. ``full_migration`` is submitted with
``dagster job launch``, so it is queued, dequeued and launched by the daemon like any run from
the UI. When its worker is COPYing into a ``kgv`` table, the worker is stopped, the COPY is
confirmed still in progress, and the worker is killed with SIGKILL. The run must be marked
failed within the monitoring interval, run retries must start it again, and the retried run
must succeed with a target equal to a clean migration's (content digest of every table).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import dagster as dg
import psycopg
import pytest
import yaml

from kgv_assets.partitions import all_partitions_tags, register_partition_keys
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets_tests.conftest import (
    INSTANCE_VARIABLES,
    ROOT,
    Migrated,
    create_database,
    dagster_env,
    drop_database,
)
from kgv_assets_tests.sync.conftest import snapshot

pytestmark = pytest.mark.slow
T = TypeVar("T")

SETTINGS = yaml.safe_load((ROOT / "dagster.yaml").read_text())
POLL_SECONDS = SETTINGS["run_monitoring"]["poll_interval_seconds"]

COPY_IN_PROGRESS = """
SELECT pid, query_start FROM pg_stat_activity
 WHERE datname = current_database() AND application_name = 'kgv_assets'
   AND state = 'active' AND starts_with(query, 'COPY "kgv".')
"""
STILL_COPYING = COPY_IN_PROGRESS + " AND pid = %s AND query_start = %s"


def wait_for(what: str, check: Callable[[], T | None], seconds: float, log: Path) -> T:
    """Poll ``check`` until it returns a value; fail (with the daemon's log) after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.01)
    tail = log.read_text()[-4000:] if log.exists() else ""
    pytest.fail(f"timed out after {seconds} s waiting for {what}\n{tail}")


@pytest.fixture
def deployment(
    tmp_path: Path, demo_source: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dg.DagsterInstance, dict[str, str], str, Path]]:
    """A target database, an instance on it (shipped dagster.yaml) and its running daemon."""
    url = create_database("kgv_runmon")
    env = dagster_env(tmp_path / "dagster_home", url, f"sqlite:///{demo_source}")
    env.pop("KGV_PUSHGATEWAY_URL", None)
    for name in INSTANCE_VARIABLES:
        monkeypatch.setenv(name, env[name])
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            ["dagster-daemon", "run", "-w", str(ROOT / "workspace.yaml")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server is stopped with it
        )
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance, env, url, log
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)
        drop_database(url)


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from its 'Started process for run (pid: N).' engine event."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = re.search(r"Started process for run \(pid: (\d+)\)", entry.message or "")
        if found:
            return int(found.group(1))
    return None


def kill_during_copy(conn: psycopg.Connection, pid: int) -> str:
    """SIGKILL ``pid`` while one of its COPYs into kgv is in progress; return that COPY's table."""
    while True:
        for backend, started in conn.execute(COPY_IN_PROGRESS).fetchall():
            os.kill(pid, signal.SIGSTOP)
            # stopped: if the COPY is still the backend's statement, the worker dies inside it
            row = conn.execute(STILL_COPYING + " ", (backend, started)).fetchone()
            if row is not None:
                query = conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE pid = %s", (backend,)
                ).fetchone()
                os.kill(pid, signal.SIGKILL)
                return str(query[0]).split("(")[0].strip() if query else "?"
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.002)


def run(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun:
    found = instance.get_run_by_id(run_id)
    assert found is not None
    return found


def test_a_killed_run_worker_fails_the_run_and_the_retry_finishes_the_migration(
    deployment: tuple[dg.DagsterInstance, dict[str, str], str, Path], shared_migration: Migrated
) -> None:
    instance, env, url, log = deployment
    register_partition_keys(
        instance, LegacySourceResource(url=env["KGV_SOURCE_URL"]).partition_keys()
    )
    tags = json.dumps(all_partitions_tags(instance))
    workspace = str(ROOT / "workspace.yaml")
    launched = subprocess.run(
        ["dagster", "job", "launch", "-w", workspace, "-j", "full_migration", "--tags", tags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert launched.returncode == 0, launched.stdout + launched.stderr
    (first,) = instance.get_run_records(dg.RunsFilter(job_name="full_migration"))
    run_id = first.dagster_run.run_id
    # submitted through the queued run coordinator, dequeued by the daemon
    assert first.dagster_run.tags.get("kgv/run_kind") == "migration"

    pid = wait_for("the run worker", lambda: worker_pid(instance, run_id), 180, log)
    with psycopg.connect(url, autocommit=True) as conn:
        table = kill_during_copy(conn, pid)
    killed_at = time.monotonic()
    assert table.startswith('COPY "kgv".'), table

    wait_for(
        "the run to be marked failed",
        lambda: True if run(instance, run_id).status == dg.DagsterRunStatus.FAILURE else None,
        POLL_SECONDS,
        log,
    )
    detected = time.monotonic() - killed_at
    assert detected <= POLL_SECONDS
    print(f"killed during {table}; marked failed after {detected:.1f} s")  # noqa: T201

    def retry() -> dg.DagsterRun | None:
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run_id}))
        return runs[0] if runs else None

    child = wait_for("run retries to start the run again", retry, 120, log)
    assert child.tags.get("dagster/retry_number") == "1"
    final = wait_for(
        "the retried run to finish",
        lambda: r if (r := run(instance, child.run_id)).is_finished else None,
        600,
        log,
    )
    assert final.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-4000:]
    assert snapshot(url) == snapshot(shared_migration.url)
