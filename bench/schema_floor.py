"""The schema floor: ``python -m bench.schema_floor DUMP_DIR PG_URL``.

What the target schema itself costs PostgreSQL, without any of the migration's own work: the
rows a finished migration wrote into the ``kgv`` tables (dumped by ``dump`` with ``COPY … TO``
in PostgreSQL's binary format, generated columns left for the server to compute) are COPied
into a fresh database whose schema was created as the project creates it
(``kgv_assets.schema_migrations.apply_sql_files``: every numbered file of ``sql/target``), the
way the project's bulk load does it (``kgv_assets.load.writer.BulkLoad``: secondary indexes and
foreign keys dropped, then built and validated after the COPY, audit triggers off), parents
before children, the history's yearly partitions created first as the load creates them.

Prints one JSON line: seconds of the schema, of the COPY (typed input, the German full-text
and name columns computed), of the index and constraint build, and the rows copied.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

from kgv_assets.layout import TARGET
from kgv_assets.load.writer import BulkLoad
from kgv_assets.schema_migrations import apply_sql_files

MANIFEST = "manifest.json"
CHUNK = 1 << 20


def _tables_in_load_order(conn: psycopg.Connection) -> list[str]:
    """The target's tables (partitioned parents, not their partitions), parents first."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " ORDER BY c.relname",
            (TARGET,),
        )
    ]
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in conn.execute(
        "SELECT k.conrelid::regclass::text, k.confrelid::regclass::text FROM pg_constraint k"
        " WHERE k.contype = 'f' AND k.connamespace = %s::regnamespace AND k.conparentid = 0",
        (TARGET,),
    ):
        child_name, parent_name = child.split(".")[-1], parent.split(".")[-1]
        if child_name in parents and parent_name != child_name:
            parents[child_name].add(parent_name)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, p in parents.items() if not p - set(ordered))
        if not ready:
            raise RuntimeError(f"foreign keys form a cycle among {sorted(parents)}")
        ordered += ready
        for t in ready:
            del parents[t]
    return ordered


def _stored_columns(conn: psycopg.Connection, table: str) -> list[str]:
    """Columns the load writes: not generated (the server computes those)."""
    return [
        name
        for (name,) in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            (sql.Identifier(TARGET, table).as_string(conn),),
        )
    ]


def dump(pg_url: str, directory: Path) -> int:
    """Write every ``kgv`` table of a migrated database into ``directory``; return the rows."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {"tables": []}
    rows = 0
    with psycopg.connect(pg_url) as conn:
        years = [
            int(name.rsplit("_", 1)[1])
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'kgv.application_history'::regclass"
                " AND c.relname ~ '_[0-9]{4}$' ORDER BY 1"
            )
        ]
        manifest["history_years"] = years
        for table in _tables_in_load_order(conn):
            columns = _stored_columns(conn, table)
            path = directory / f"{table}.copy"
            query = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(TARGET, table)
            )
            with conn.cursor() as cur, cur.copy(query) as copy, path.open("wb") as out:
                for chunk in copy:
                    out.write(chunk)
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(TARGET, table))
            ).fetchone()
            n = int(count[0]) if count else 0
            rows += n
            manifest["tables"].append({"table": table, "columns": columns, "rows": n})  # type: ignore[union-attr]
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return rows


def load(directory: Path, pg_url: str) -> dict[str, float | int]:
    """Create the schema in the empty database at ``pg_url`` and bulk-load the dump."""
    manifest = json.loads((directory / MANIFEST).read_text())
    timings = {"schema_seconds": 0.0, "copy_seconds": 0.0, "indexes_seconds": 0.0, "rows": 0}
    with psycopg.connect(pg_url) as conn:
        started = time.perf_counter()
        apply_sql_files(conn)
        tables = [t["table"] for t in manifest["tables"]]
        with conn.transaction():  # reference rows the schema seeds are in the dump too
            conn.execute(
                sql.SQL("TRUNCATE {} CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(TARGET, t) for t in tables)
                )
            )
            for year in manifest["history_years"]:
                conn.execute("SELECT kgv.ensure_history_partition(%s)", (year,))
        timings["schema_seconds"] = time.perf_counter() - started
        for entry in manifest["tables"]:
            with conn.transaction():
                deferred = BulkLoad.begin(conn, TARGET, entry["table"])
                started = time.perf_counter()
                query = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
                    sql.Identifier(TARGET, entry["table"]),
                    sql.SQL(", ").join(map(sql.Identifier, entry["columns"])),
                )
                with (
                    conn.cursor() as cur,
                    cur.copy(query) as copy,
                    (directory / f"{entry['table']}.copy").open("rb") as data,
                ):
                    while chunk := data.read(CHUNK):
                        copy.write(chunk)
                copied = time.perf_counter()
                deferred.finish(conn)
                finished = time.perf_counter()
            timings["copy_seconds"] += copied - started
            timings["indexes_seconds"] += finished - copied
            timings["rows"] += int(entry["rows"])
    return timings


if __name__ == "__main__":
    started = time.perf_counter()
    outcome: dict[str, object] = dict(load(Path(sys.argv[1]), sys.argv[2]))
    outcome["seconds"] = time.perf_counter() - started
    print(json.dumps(outcome))  # noqa: T201  (the driver reads this line)
