"""Shared fixtures: disposable PostgreSQL databases on the real server, and demo sources.

The server is the one ``docker/with-env.sh`` found (KGV_PG_URL), or 127.0.0.1:5432. Each
fixture creates its own database and drops it afterwards; nothing is mocked. ``migrated`` is
one full migration of the demo source per test module; tests that break data on purpose do it
in a ``copy_database`` of it (or in a transaction they roll back).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString
from urllib.parse import quote

import dagster as dg
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

SERVER_URL = os.environ.get("KGV_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]


def _url_for(dbname: str) -> str:
    """A postgresql:// URL (libpq and SQLAlchemy both read it) for ``dbname`` on the server."""
    info = conninfo_to_dict(SERVER_URL)
    user = quote(str(info.get("user", "postgres")))
    password = f":{quote(str(info['password']))}" if info.get("password") else ""
    host = info.get("host", "127.0.0.1")
    return f"postgresql://{user}{password}@{host}:{info.get('port', 5432)}/{dbname}"


def _admin_url() -> str:
    return _url_for("postgres")


# The test suite's logins (issue 16): known passwords, the same in every session (roles are
# cluster-wide); the pipeline runs as kgv_loader, checks and report as kgv_reader.
LOGIN_PASSWORDS = {
    "kgv_migrator": "test-migrator-Ü9",
    "kgv_loader": "test-loader-Ü9",
    "kgv_reader": "test-reader-Ü9",
    "kgv_reviewer": "test-reviewer-Ü9",
    "kgv_dagster": "test-dagster-Ü9",
}


def login_url(url: str, login: str) -> str:
    """``url``'s server and database as ``login`` with its test password."""
    info = conninfo_to_dict(url)
    password = quote(LOGIN_PASSWORDS[login])
    host = info.get("host", "127.0.0.1")
    return f"postgresql://{login}:{password}@{host}:{info.get('port', 5432)}/{info['dbname']}"


def prepare_logins(url: str) -> None:
    """As the superuser: the logins with their test passwords, the schema applied as owner."""
    from kgv_assets.security.roles import LOGINS, apply_schema, create_logins

    env = {login.password_variable: LOGIN_PASSWORDS[login.name] for login in LOGINS}
    with psycopg.connect(url, autocommit=True) as conn:
        create_logins(conn, env)
        apply_schema(conn)


def scalar(
    conn: psycopg.Connection, query: LiteralString | sql.Composed, params: Sequence[Any] = ()
) -> Any:
    """The first column of the one row ``query`` returns (the test fails if it returns none)."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, "the query returned no row"
    return row[0]


def create_database(prefix: str) -> str:
    """Create an empty database with PostGIS; return its libpq URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _url_for(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def copy_database(url: str, prefix: str) -> str:
    """A new database copied from the one at ``url`` (nobody may be connected to it)."""
    copy = create_database(prefix)
    name = conninfo_to_dict(copy)["dbname"]
    template = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(str(name))))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(str(name)), sql.Identifier(str(template))
            )
        )
    return copy


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database`` (ending its sessions first)."""
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database for one test."""
    url = create_database("kgv_test")
    yield url
    drop_database(url)


@pytest.fixture
def pg(pg_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a fresh database."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo source (scale 0.02), generated once per test session; treat as read-only."""
    from kgv_assets.legacy.demo_data import generate

    path = tmp_path_factory.mktemp("demo") / "kgv_demo.sqlite"
    generate(path, scale=0.02, seed=7)
    return path


def loaded_and_quarantined(
    conn: psycopg.Connection, source_table: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Per partition, counted in the tables themselves: rows in the target, rows in quarantine."""
    from kgv_assets.layout import loaded_from

    target = loaded_from(source_table).name
    loaded = conn.execute(
        sql.SQL("SELECT legacy_partition, count(*) FROM {} GROUP BY 1").format(
            sql.Identifier("kgv", target)
        )
    ).fetchall()
    rejected = conn.execute(
        "SELECT partition, count(*) FROM migration.rejected_rows"
        " WHERE source_table = %s GROUP BY 1",
        (source_table,),
    ).fetchall()
    return {str(k): n for k, n in loaded}, {str(k): n for k, n in rejected}


def run_full_migration(instance: dg.DagsterInstance, source_url: str) -> dg.ExecuteInProcessResult:
    """Register the source's partitions and run full_migration over all of them in one run."""
    from kgv_assets.definitions import defs
    from kgv_assets.partitions import all_partitions_tags, register_partition_keys
    from kgv_assets.resources.legacy_source import LegacySourceResource

    register_partition_keys(instance, LegacySourceResource(url=source_url).partition_keys())
    job = defs().resolve_job_def("full_migration")
    return job.execute_in_process(instance=instance, tags=all_partitions_tags(instance))


@dataclass
class Migrated:
    """A database after one full migration of the demo source, with its Dagster instance."""

    instance: dg.DagsterInstance
    url: str
    """The superuser's URL of the database (tests inspect and break it with this one)."""
    source_url: str
    result: dg.ExecuteInProcessResult | None = None

    def point_env(self, mp: pytest.MonkeyPatch, url: str | None = None) -> None:
        """Point the pipeline at ``url`` (e.g. a copy, else this database), the source here.

        KGV_PG_URL is the loader's login, KGV_PG_READER_URL the reader's.
        """
        mp.setenv("KGV_PG_URL", login_url(url or self.url, "kgv_loader"))
        mp.setenv("KGV_PG_READER_URL", login_url(url or self.url, "kgv_reader"))
        mp.setenv("KGV_SOURCE_URL", self.source_url)
        mp.setenv("KGV_SOURCE_SCHEMA", "")


@contextmanager
def migrate_demo(demo_source: Path) -> Iterator[Migrated]:
    """``full_migration`` of the demo source into a fresh database on a test instance.

    The superuser only creates the database, the logins and the schema; the migration runs
    as the loader's login. The environment points at them only during the migration; the
    database is dropped on exit.
    """
    url = create_database("kgv_migrated")
    try:
        prepare_logins(url)
        with dg.instance_for_test() as instance:
            migrated = Migrated(instance, url, f"sqlite:///{demo_source}")
            with pytest.MonkeyPatch.context() as mp:
                migrated.point_env(mp)
                migrated.result = run_full_migration(instance, migrated.source_url)
            assert migrated.result.success
            yield migrated
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def migrated(demo_source: Path) -> Iterator[Migrated]:
    """One full migration per test module, the environment pointing at it for the module.

    Treat it as read-only, or undo what you change.
    """
    with migrate_demo(demo_source) as done, pytest.MonkeyPatch.context() as mp:
        done.point_env(mp)
        yield done


@pytest.fixture(scope="session")
def shared_migration(demo_source: Path) -> Iterator[Migrated]:
    """One full migration for the whole session, shared by the tests that use it.

    They only read it, copy it (``copy_database``) or change it in a transaction they roll
    back. The environment is not left pointing at it: use ``point_env`` around Dagster runs.
    """
    with migrate_demo(demo_source) as done:
        yield done


# What dagster_env points at the test's instance, for tests that set them in their own process.
INSTANCE_VARIABLES = (
    "DAGSTER_HOME",
    "KGV_PG_URL",
    "KGV_DAGSTER_PG_URL",
    "KGV_SOURCE_URL",
    "KGV_SOURCE_SCHEMA",
)


def dagster_env(home: Path, pg_url: str, source_url: str) -> dict[str, str]:
    """The environment of a ``dagster`` command on a real instance (dagster.yaml) in ``home``.

    Run and event storage are in PostgreSQL (``pg_url``, schema public), as in production.
    """
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").symlink_to(ROOT / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "KGV_PG_URL": pg_url,
        "KGV_DAGSTER_PG_URL": pg_url,
        "KGV_SOURCE_URL": source_url,
        "KGV_SOURCE_SCHEMA": "",
    }


def dagster_job_execute(
    env: dict[str, str], job: str, tags: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``dagster job execute`` the way the README shows, in a subprocess."""
    cmd = ["dagster", "job", "execute", "-m", "kgv_assets.definitions", "-j", job]
    if tags:
        cmd += ["--tags", json.dumps(tags)]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)


def write_mischenfelder(path: Path, rows: Sequence[tuple[object, ...]]) -> None:
    """A small SQLite source: legacy ``Mischenfelder`` with ``rows`` (ID, 3 text columns)."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE Mischenfelder (misch_ID uniqueidentifier NOT NULL,"
            " misch_Datenbankfeld varchar(50), misch_Dokumentfeld varchar(50),"
            " misch_Kommentar varchar(100))"
        )
        db.executemany("INSERT INTO Mischenfelder VALUES (?, ?, ?, ?)", rows)
