"""Shared fixtures: disposable PostgreSQL databases on the real server, and demo sources.

The server is the one ``docker/with-env.sh`` found (KGV_PG_URL), or 127.0.0.1:5432. Each
fixture creates its own database and drops it afterwards; nothing is mocked.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

SERVER_URL = os.environ.get("KGV_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _url_for(dbname: str) -> str:
    """A postgresql:// URL (libpq and SQLAlchemy both read it) for ``dbname`` on the server."""
    info = psycopg.conninfo.conninfo_to_dict(SERVER_URL)
    user = quote(str(info.get("user", "postgres")))
    password = f":{quote(str(info['password']))}" if info.get("password") else ""
    host = info.get("host", "127.0.0.1")
    return f"postgresql://{user}{password}@{host}:{info.get('port', 5432)}/{dbname}"


def _admin_url() -> str:
    return _url_for("postgres")


def create_database(prefix: str) -> str:
    """Create an empty database with PostGIS; return its libpq URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _url_for(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database`` (ending its sessions first)."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
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
