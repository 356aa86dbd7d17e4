"""``dagster job execute`` of full_migration, as CI and users run it: whole tables, then a range.

A real Dagster instance (dagster.yaml, run storage in PostgreSQL), the real CLI in a subprocess,
a real PostgreSQL target and a SQLite demo source.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    all_partitions_tags,
    register_partition_keys,
)
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets_tests.conftest import dagster_env as make_env
from kgv_assets_tests.conftest import dagster_job_execute as execute

pytestmark = pytest.mark.slow


@pytest.fixture
def dagster_env(pg_url: str, demo_source: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield make_env(tmp_path / "dagster_home", pg_url, f"sqlite:///{demo_source}")


def _instance(env: dict[str, str]) -> dg.DagsterInstance:
    os.environ["KGV_PG_URL"] = env["KGV_PG_URL"]
    os.environ["KGV_DAGSTER_PG_URL"] = env["KGV_DAGSTER_PG_URL"]
    return dg.DagsterInstance.from_config(env["DAGSTER_HOME"])


def _staged(url: str, name: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT _partition, count(*) FROM {} GROUP BY 1 UNION ALL"
                " SELECT partition, count(*) FROM migration.rejected_rows"
                " WHERE source_table = %s AND stage = 'legacy' GROUP BY 1"
            ).format(sql.Identifier("staging", name)),
            (name,),
        ).fetchall()
    out: dict[str, int] = {}
    for key, n in rows:
        out[key] = out.get(key, 0) + n
    return out


def _summary_accounts_for_every_row(env: dict[str, str], legacy_rows: int) -> None:
    """``kgv summary`` after the run: every table, and the whole run's rows/s and peak memory."""
    done = subprocess.run(["kgv", "summary"], env=env, capture_output=True, text=True, check=True)
    for t in TABLES:
        assert re.search(rf"^{t.name}\s", done.stdout, re.MULTILINE), t.name
    with psycopg.connect(env["KGV_PG_URL"]) as conn:
        peak, least = conn.execute(
            "SELECT max(peak_rss_mib), min(peak_rss_mib) FROM migration.reconciliation"
        ).fetchone()  # type: ignore[misc]
    assert 50 < least <= peak < 4096  # every load recorded the real resident set of its process
    found = re.search(
        r"^full migration: ([0-9,]+) legacy rows, [0-9.,]+ s of load time .*, ([0-9,]+) rows/s;"
        r" peak memory ([0-9,]+) MiB",
        done.stdout,
        re.MULTILINE,
    )
    assert found, done.stdout
    rows, rate, mib = (int(g.replace(",", "")) for g in found.groups())
    assert rows == legacy_rows and rate > 0
    assert mib == round(peak)


def test_full_migration_then_a_partition_range(dagster_env: dict[str, str]) -> None:
    source = LegacySourceResource(url=dagster_env["KGV_SOURCE_URL"])
    instance = _instance(dagster_env)
    register_partition_keys(instance, source.partition_keys())

    done = execute(dagster_env, "full_migration", all_partitions_tags(instance))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    for t in TABLES:
        event = instance.get_latest_materialization_event(dg.AssetKey(["legacy", t.name]))
        assert event is not None, t.name
        expected = source.partition_counts(t)
        assert _staged(dagster_env["KGV_PG_URL"], t.name) == expected, t.name

    _summary_accounts_for_every_row(
        dagster_env, sum(sum(source.partition_counts(t).values()) for t in TABLES)
    )

    years = [k for k in instance.get_dynamic_partitions("legacy_year") if k != "undated"]
    start, end = years[1], years[2]
    done = execute(dagster_env, "full_migration", {RANGE_START_TAG: start, RANGE_END_TAG: end})
    assert done.returncode == 0, done.stderr[-3000:]
    with psycopg.connect(dagster_env["KGV_PG_URL"]) as conn:
        runs = dict(
            conn.execute(
                'SELECT _partition, count(DISTINCT _run_id) FROM staging."Verlauf" GROUP BY 1'
            )
        )
        latest = conn.execute(
            'SELECT DISTINCT _partition FROM staging."Verlauf" WHERE _run_id = ('
            "  SELECT run_id FROM migration.reconciliation WHERE source_table = 'Verlauf'"
            "  ORDER BY reconciled_at DESC LIMIT 1)"
        ).fetchall()
    assert {k for (k,) in latest} == {start, end}, "only the range was reloaded"
    assert set(runs.values()) == {1}
