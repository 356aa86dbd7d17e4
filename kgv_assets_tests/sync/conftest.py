"""Fixtures for the incremental-sync tests: a migrated copy of the demo source, snapshots.

Each test gets its own PostgreSQL database, its own copy of the demo source (mutated freely)
and its own Dagster instance; nothing is mocked.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from kgv_assets.definitions import defs
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.partitions import all_partitions_tags, register_partition_keys
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets_tests.conftest import create_database, drop_database

KGV_TABLES = [
    "districts",
    "cadastral_districts",
    "district_cadastral_links",
    "file_references",
    "entry_numbers",
    "applications",
    "application_history",
    "event_types",
    "users",
    "identifiers",
    "field_mappings",
    "waiting_list_stats",
    "applications_per_year_status",
]


@dataclass
class MigratedCopy:
    """A target database migrated from a source file, with its Dagster instance."""

    url: str
    source: Path
    instance: dg.DagsterInstance

    @property
    def source_url(self) -> str:
        return f"sqlite:///{self.source}"


def full_migration(instance: dg.DagsterInstance, source_url: str, *, checks: bool = False) -> None:
    """Register the source's partitions and run full_migration over all of them in one run."""
    register_partition_keys(instance, LegacySourceResource(url=source_url).partition_keys())
    job = defs().resolve_job_def("full_migration")
    if not checks:  # the checks are tested elsewhere; here they would only cost time
        keys = set(job.asset_layer.executable_asset_keys)  # the job's own (no backups)
        job = job.get_subset(asset_selection=keys, asset_check_selection=set())
    result = job.execute_in_process(instance=instance, tags=all_partitions_tags(instance))
    assert result.success


@pytest.fixture
def migrated_copy(
    pg_url: str, demo_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MigratedCopy]:
    """The demo source copied to tmp_path and fully migrated into a fresh database."""
    source = tmp_path / "source.sqlite"
    shutil.copy(demo_source, source)
    monkeypatch.setenv("KGV_PG_URL", pg_url)
    monkeypatch.setenv("KGV_SOURCE_URL", f"sqlite:///{source}")
    monkeypatch.setenv("KGV_SOURCE_SCHEMA", "")
    with dg.instance_for_test() as instance:
        full_migration(instance, f"sqlite:///{source}")
        yield MigratedCopy(pg_url, source, instance)


@pytest.fixture
def fresh_migration(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A function migrating a source into a new database from scratch; returns its URL."""
    urls: list[str] = []

    def migrate(source: Path) -> str:
        url = create_database("kgv_test_fresh")
        urls.append(url)
        with monkeypatch.context() as env, dg.instance_for_test() as instance:
            env.setenv("KGV_PG_URL", url)
            env.setenv("KGV_SOURCE_URL", f"sqlite:///{source}")
            full_migration(instance, f"sqlite:///{source}")
        return url

    yield migrate
    for url in urls:
        drop_database(url)


def _digest(conn: psycopg.Connection, rows: sql.Composable) -> tuple[int, str]:
    query = sql.SQL(
        "SELECT count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) FROM ({rows}) t (r)"
    ).format(rows=rows)
    found = conn.execute(query).fetchone()
    assert found is not None
    return int(found[0]), str(found[1])


def _absent(conn: psycopg.Connection, schema: str, name: str) -> bool:
    found = conn.execute("SELECT to_regclass(%s)", (f'{schema}."{name}"',)).fetchone()
    return found is None or found[0] is None


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Row count and digest of the ordered rows of every table the migration writes.

    Run ids, timestamps, durations, memory and surrogate ids are left out: they differ between
    any two loads.
    """
    out: dict[str, tuple[int, str]] = {}
    with psycopg.connect(url) as conn:
        for name in KGV_TABLES:
            out[f"kgv.{name}"] = _digest(
                conn, sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier("kgv", name))
            )
        for t in TABLES:
            if _absent(conn, "staging", t.name):
                continue
            out[f"staging.{t.name}"] = _digest(
                conn,
                sql.SQL("SELECT (to_jsonb(s) - '_run_id')::text FROM {} s").format(
                    sql.Identifier("staging", t.name)
                ),
            )
        for name, dropped in (
            ("rejected_rows", ["id", "run_id", "rejected_at"]),
            ("reconciliation", ["run_id", "seconds", "peak_rss_mib", "reconciled_at"]),
            ("partition_fingerprints", ["run_id", "recorded_at"]),
            ("dependency_fingerprints", ["run_id", "recorded_at"]),
        ):
            # A partition emptied by a sync keeps a reconciliation row of zeros.
            where = sql.SQL("WHERE source_rows > 0" if name == "reconciliation" else "")
            out[f"migration.{name}"] = _digest(
                conn,
                sql.SQL("SELECT (to_jsonb(m) - {}::text[])::text FROM {} m {}").format(
                    sql.Literal(dropped), sql.Identifier("migration", name), where
                ),
            )
    return out
