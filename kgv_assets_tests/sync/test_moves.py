"""Rows moving to another year, loaded partition by partition in either order.

A history row whose date moves from an earlier to a later year (and an application whose date
does) is staged in its new year while its old year may still hold it: loading the new year
first, then the old one — and the other way round for a second row — must never duplicate a
row or hit a key conflict, and must end exactly where a fresh load of the changed source
ends (target, quarantine, reconciliation). Loads call the staging and target loaders directly
on a real PostgreSQL database and a copy of the demo source.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from kgv_assets.legacy.catalogue import table
from kgv_assets.load.event_types import add_found_codes
from kgv_assets.load.staging import stage_table
from kgv_assets.load.target_table import load_target_table
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.schema_migrations import apply_sql_files
from kgv_assets.transform.tables.application_history import ApplicationHistoryLoader
from kgv_assets.transform.tables.applications import ApplicationsLoader
from kgv_assets_tests.conftest import create_database, drop_database, scalar
from kgv_assets_tests.sync.conftest import snapshot


def load(conn: psycopg.Connection, source: Path, keys: Sequence[str] | None) -> None:
    """Antrag and Verlauf → staging → kgv.applications, kgv.application_history."""
    legacy = LegacySourceResource(url=f"sqlite:///{source}")
    for name in ("Antrag", "Verlauf"):
        stage_table(legacy, conn, table(name), keys, "test-run")
    add_found_codes(conn)
    load_target_table(conn, ApplicationsLoader(), keys, "test-run")
    load_target_table(conn, ApplicationHistoryLoader(), keys, "test-run")


def _where(conn: psycopg.Connection, target: str, key: str) -> list[str]:
    """The partitions under which ``key`` is loaded, then those under which it is quarantined."""
    loaded = conn.execute(
        sql.SQL("SELECT legacy_partition FROM {} WHERE id = %s").format(
            sql.Identifier("kgv", target)
        ),
        (key,),
    ).fetchall()
    rejected = conn.execute(
        "SELECT partition FROM migration.rejected_rows WHERE upper(source_key) = upper(%s)",
        (key,),
    ).fetchall()
    return [p for (p,) in loaded] + [f"quarantined {p}" for (p,) in rejected]


@pytest.fixture
def source(demo_source: Path, tmp_path: Path) -> Path:
    path = tmp_path / "source.sqlite"
    shutil.copy(demo_source, path)
    return path


def test_moved_rows_end_once_under_their_new_year_in_either_order(
    pg: psycopg.Connection, pg_url: str, source: Path
) -> None:
    apply_sql_files(pg)
    load(pg, source, None)
    event = scalar(
        pg,
        "SELECT id::text FROM kgv.application_history WHERE legacy_partition = '2005'"
        " ORDER BY id LIMIT 1",
    )
    other = scalar(
        pg,
        "SELECT id::text FROM kgv.application_history WHERE legacy_partition = '2008'"
        " ORDER BY id LIMIT 1",
    )
    application = scalar(
        pg,
        "SELECT id::text FROM kgv.applications WHERE legacy_partition = '2003' ORDER BY id LIMIT 1",
    )
    with sqlite3.connect(source) as db:
        for key, year in ((event, 2015), (other, 2018)):
            db.execute(
                "UPDATE Verlauf SET verl_Datum = ? WHERE upper(verl_ID) = upper(?)",
                (f"{year}-05-04 12:00:00.000", key),
            )
        db.execute(
            "UPDATE Antrag SET an_Bewerbungsdatum = '2013-07-01 09:00:00.000'"
            " WHERE upper(an_ID) = upper(?)",
            (application,),
        )

    # The new years first for one row (and the application), the old year first for the other.
    for keys in (["2015"], ["2013"], ["2008"]):
        load(pg, source, keys)
        for target, key in (("application_history", event), ("applications", application)):
            loaded = scalar(
                pg,
                sql.SQL("SELECT count(*) FROM {} WHERE id = %s").format(
                    sql.Identifier("kgv", target)
                ),
                (key,),
            )
            assert loaded == 1, "never duplicated, never lost in between"
    load(pg, source, ["2018"])
    load(pg, source, ["2005"])
    load(pg, source, ["2003"])
    assert _where(pg, "application_history", event) == ["2015"]
    assert _where(pg, "application_history", other) == ["2018"]
    assert _where(pg, "applications", application) == ["2013"]

    fresh = create_database("kgv_test_fresh")
    try:
        with psycopg.connect(fresh, autocommit=True) as conn:
            apply_sql_files(conn)
            load(conn, source, None)
        assert snapshot(pg_url) == snapshot(fresh)
    finally:
        drop_database(fresh)
