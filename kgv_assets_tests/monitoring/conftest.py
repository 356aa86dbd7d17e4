"""Fixtures of the monitoring tests: one migrated database, shared by the package.

The database is a real full migration of the small demo source (like
``defs/test_full_migration.py``), with Dagster's run storage in its schema ``public`` as in
production (``dagster.yaml``), so the exporter sees real accounting, quarantine, target tables,
audit rows and Dagster runs.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kgv_assets_tests.conftest import create_database, drop_database, run_full_migration

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"

# Changes made after the migration, so the audit trail has something to count.
AUDITED_UPDATES = 3


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="package")
def migrated_url(demo_source: Path) -> Iterator[str]:
    """URL of a database holding a finished full migration and a few audited changes."""
    url = create_database("kgv_mon")
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("KGV_PG_URL", url)
            env.setenv("KGV_SOURCE_URL", f"sqlite:///{demo_source}")
            env.setenv("KGV_SOURCE_SCHEMA", "")
            storage = {"storage": {"postgres": {"postgres_url": url}}}
            with dg.instance_for_test(overrides=storage) as instance:
                assert run_full_migration(instance, f"sqlite:///{demo_source}").success
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
