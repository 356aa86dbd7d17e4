"""The physical floor: ``python -m bench.floor SQLITE_PATH PG_URL``.

Reads every legacy table with the sqlite3 module's own cursor and COPies the rows, as they come,
into a table of text columns (schema ``floor``) with psycopg — no validation, no hashing, no
conversion, no quarantine, no Dagster: the least any loader of these rows must do. Values are
decoded as UTF-8 with invalid bytes replaced and NUL characters dropped (PostgreSQL text cannot
hold them), so the COPY never fails.

Prints one JSON line: seconds (after connecting) and rows copied.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time

import psycopg
from psycopg import sql

from kgv_assets.legacy.catalogue import TABLES

CHUNK = 50_000


def _decode(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return text.replace("\x00", "") if "\x00" in text else text


def _quoted(identifier: str) -> str:
    """An SQLite identifier, quoted (names come from the catalogue)."""
    return '"' + identifier.replace('"', '""') + '"'


def copy_all(sqlite_path: str, pg_url: str) -> int:
    """Copy every legacy table into ``floor.<table>``; return the rows copied."""
    rows = 0
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    source.text_factory = _decode
    with psycopg.connect(pg_url, autocommit=True) as target:
        target.execute("CREATE SCHEMA IF NOT EXISTS floor")
        for table in TABLES:
            name = sql.Identifier("floor", table.name)
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names)
            target.execute(
                sql.SQL("CREATE TABLE {} ({})").format(
                    name,
                    sql.SQL(", ").join(
                        sql.SQL("{} text").format(sql.Identifier(c)) for c in table.column_names
                    ),
                )
            )
            select = ", ".join(f"CAST({_quoted(c)} AS TEXT)" for c in table.column_names)
            cursor = source.execute(f"SELECT {select} FROM {_quoted(table.name)}")
            with (
                target.cursor() as cur,
                cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(name, columns)) as copy,
            ):
                while chunk := cursor.fetchmany(CHUNK):
                    for row in chunk:
                        copy.write_row(row)
                    rows += len(chunk)
    source.close()
    return rows


if __name__ == "__main__":
    started = time.perf_counter()
    copied = copy_all(sys.argv[1], sys.argv[2])
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": copied}))  # noqa: T201
