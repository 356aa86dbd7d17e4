"""Fixtures of the monitoring tests: one migrated database and a Pushgateway, shared by the package.

The database is a real full migration of the small demo source (like
``defs/test_full_migration.py``), with Dagster's run storage in its schema ``public`` as in
production (``dagster.yaml``), so the exporter sees real accounting, quarantine, target tables,
audit rows and Dagster runs. The migration runs with ``KGV_PUSHGATEWAY_URL`` pointing at a real
Pushgateway (Debian's package) on loopback, and ``run_outcomes_sensor`` is evaluated once after
it, so the gateway holds what a deployment's would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kgv_assets_tests.conftest import create_database, drop_database, run_full_migration

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
EXPORTER = "/usr/bin/prometheus-postgres-exporter"
PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"
QUERIES = MONITORING / "postgres-exporter" / "queries.yaml"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# Changes made after the migration, so the audit trail has something to count.
AUDITED_UPDATES = 3


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(
    name: str, cmd: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` until it listens on 127.0.0.1:``port`` (15 s at most); stop it on exit."""
    if not os.access(cmd[0], os.X_OK):
        pytest.fail(f"{cmd[0]} missing: run docker/install-system-packages.sh monitoring")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not listen on port {port}:\n{log.read_text()}")
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def running_exporter(db_url: str, log: Path) -> Iterator[str]:
    """Run the exporter on a free port against ``db_url``; yield its /metrics URL."""
    port = free_port()
    env = {**os.environ, "DATA_SOURCE_NAME": f"{db_url}?sslmode=disable"}
    cmd = [EXPORTER, f"--web.listen-address=127.0.0.1:{port}", f"--extend.query-path={QUERIES}"]
    with serving("exporter", cmd, port, log, env):
        yield f"http://127.0.0.1:{port}/metrics"


@contextmanager
def broken_accounting(db_url: str, source_table: str, stage: str) -> Iterator[str]:
    """One accounting row of ``source_table`` at ``stage`` off by one; yield its partition.

    The CHECK constraint forbids this, so it is dropped first, as in a corrupted database;
    row and constraint are restored on exit.
    """
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE migration.reconciliation DROP CONSTRAINT accounting_identity")
        found = conn.execute(
            "UPDATE migration.reconciliation SET loaded_rows = loaded_rows + 1"
            " WHERE (source_table, stage, partition) = (SELECT source_table, stage, partition"
            "  FROM migration.reconciliation WHERE source_table = %s AND stage = %s"
            "  ORDER BY partition LIMIT 1) RETURNING partition",
            (source_table, stage),
        ).fetchone()
        assert found is not None
        try:
            yield str(found[0])
        finally:
            conn.execute(
                "UPDATE migration.reconciliation SET loaded_rows = loaded_rows - 1"
                " WHERE source_table = %s AND stage = %s AND partition = %s",
                (source_table, stage, found[0]),
            )
            conn.execute(
                "ALTER TABLE migration.reconciliation ADD CONSTRAINT accounting_identity"
                " CHECK (source_rows = loaded_rows + quarantined_rows)"
            )


def scrape_text(url: str) -> str:
    """One scrape of /metrics."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def parse(text: str) -> Samples:
    """Samples keyed by metric name and label set (the exporter's `server` label dropped)."""
    return {
        (s.name, frozenset((k, v) for k, v in s.labels.items() if k != "server")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture(scope="package")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Pushgateway on a free loopback port (no persistence)."""
    port = free_port()
    log = tmp_path_factory.mktemp("pushgateway") / "log"
    cmd = [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}"]
    with serving("pushgateway", cmd, port, log):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="package")
def migrated_url(demo_source: Path, pushgateway: str) -> Iterator[str]:
    """URL of a database holding a finished full migration and a few audited changes."""
    from kgv_assets.defs.observability.run_outcomes import run_outcomes_sensor

    url = create_database("kgv_mon")
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("KGV_PG_URL", url)
            env.setenv("KGV_SOURCE_URL", f"sqlite:///{demo_source}")
            env.setenv("KGV_SOURCE_SCHEMA", "")
            env.setenv("KGV_PUSHGATEWAY_URL", pushgateway)
            storage = {"storage": {"postgres": {"postgres_url": url}}}
            with dg.instance_for_test(overrides=storage) as instance:
                assert run_full_migration(instance, f"sqlite:///{demo_source}").success
                # what the daemon does after every run: push its outcome
                run_outcomes_sensor(dg.build_sensor_context(instance=instance))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE kgv.districts SET description = 'checked by monitoring tests'"
                " WHERE id IN (SELECT id FROM kgv.districts ORDER BY id LIMIT %s)",
                (AUDITED_UPDATES,),
            )
            conn.execute("INSERT INTO kgv.event_types (code, label) VALUES ('TEST', 'test')")
            conn.execute("DELETE FROM kgv.event_types WHERE code = 'TEST'")
        yield url
    finally:
        drop_database(url)
