"""Apply the numbered SQL files under ``sql/target`` once each, in order, and refuse drift.

Like Flyway or sqitch: ``migration.schema_migrations`` records each applied file with its
SHA-256. A file that was applied and has changed since is an error (schema changes go in as
new numbered files); a new file is applied in its own transaction together with its record.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "target"
_NUMBERED = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x4B47565F  # pg_advisory_xact_lock key ("KGV_"): one applier at a time


class SchemaDriftError(RuntimeError):
    """An applied SQL file was changed afterwards."""


@dataclass(frozen=True)
class SqlFile:
    """One numbered SQL file."""

    name: str
    sha256: str
    text: str


def sql_files(directory: Path = SQL_DIR) -> list[SqlFile]:
    """The numbered SQL files of ``directory`` in order; other names are an error."""
    files = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        if not _NUMBERED.match(path.name):
            raise ValueError(f"{path.name}: SQL files must be named NNN_lower_case.sql")
        data = path.read_bytes()
        files.append(SqlFile(path.name, hashlib.sha256(data).hexdigest(), data.decode("utf-8")))
    numbers = [f.name[:3] for f in files]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"two SQL files share a number in {directory}")
    return files


def _up_to_date(conn: psycopg.Connection, files: list[SqlFile]) -> bool:
    """Whether every file is applied unchanged (read only: safe for a login without DDL)."""
    found = conn.execute("SELECT to_regclass('migration.schema_migrations')").fetchone()
    if not (found and found[0]):
        return False
    applied = dict(conn.execute("SELECT name, sha256 FROM migration.schema_migrations"))
    return all(applied.get(f.name) == f.sha256 for f in files)


def apply_sql_files(conn: psycopg.Connection, directory: Path = SQL_DIR) -> list[str]:
    """Apply the files not applied yet; return their names. Raises SchemaDriftError on drift."""
    files = sql_files(directory)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        if _up_to_date(conn, files):
            return []  # no DDL at all: the loader's login may check, but not create
        conn.execute("CREATE SCHEMA IF NOT EXISTS migration")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS migration.schema_migrations (
                   name text PRIMARY KEY,
                   sha256 text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = dict(conn.execute("SELECT name, sha256 FROM migration.schema_migrations"))
        changed = [f.name for f in files if f.name in applied and applied[f.name] != f.sha256]
        if changed:
            raise SchemaDriftError(
                f"applied SQL files changed since: {', '.join(changed)}; "
                "put schema changes into a new numbered file"
            )
        new = [f for f in files if f.name not in applied]
        for f in new:
            conn.execute(f.text.encode())  # type: ignore[call-overload]  # a whole script
            conn.execute(
                "INSERT INTO migration.schema_migrations (name, sha256) VALUES (%s, %s)",
                (f.name, f.sha256),
            )
    return [f.name for f in new]
