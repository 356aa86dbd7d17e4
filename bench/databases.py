"""Throwaway PostgreSQL databases for the benchmark, on the server KGV_PG_URL points at.

Every repetition of every step gets a fresh database (``bench_<step>_<random>``), dropped again
afterwards; the benchmark never touches a database it did not create.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def url_of(dbname: str) -> str:
    """A libpq URI for ``dbname`` on the server of KGV_PG_URL (credentials kept)."""
    info = conninfo_to_dict(os.environ.get("KGV_PG_URL") or DEFAULT_SERVER)
    info["dbname"] = dbname
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    host = info.get("host", "127.0.0.1")
    return f"postgresql://{user}{password}@{host}:{info.get('port', 5432)}/{dbname}"


@contextmanager
def fresh_database(step: str, postgis: bool = True) -> Iterator[str]:
    """An empty database for one step (PostGIS installed unless told otherwise); dropped after."""
    name = f"bench_{step}_{uuid.uuid4().hex[:8]}"
    admin = url_of("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = url_of(name)
    try:
        if postgis:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def server_version() -> str:
    """The PostgreSQL server's version string."""
    with psycopg.connect(url_of("postgres")) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


@functools.cache
def server_pid() -> int | None:
    """The postmaster's process id, if the server runs on this machine and tells its data dir."""
    try:
        with psycopg.connect(url_of("postgres")) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        pid = int(Path(str(row[0]), "postmaster.pid").read_text().split()[0]) if row else 0
    except (psycopg.Error, OSError, ValueError, IndexError):
        return None
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return pid if name in ("postgres", "postmaster") else None
