"""How faithfully a peer copied the legacy rows: per table, rows copied, dropped and altered.

A peer (pgloader, sling, dlt) writes the legacy tables into PostgreSQL under its own names
(pgloader and dlt lower-case or snake-case them, sling keeps them). Each source table is found
in the peer's database by its name with case and underscores ignored, and so are its columns.

Per table the comparison is a multiset comparison of rows over the legacy text columns
(``varchar`` and ``char`` in the catalogue: the values a raw copy must keep byte for byte):
every row's text values, as bytes, are hashed (polars ``hash_rows``) on both sides, read
Arrow-natively (the SQLite file through ADBC, the peer's table through ``COPY … TO STDOUT
(FORMAT csv)`` into pyarrow's CSV reader), and the hashes are matched with their
multiplicities. Source rows without a match were dropped (the peer has fewer rows) or altered
(a value differs: pgloader cutting text at a NUL byte, a NUL removed, whitespace trimmed).
Typed columns (dates, ints, GUIDs) are left out on purpose: a peer that types them writes
them in its own format, which is not a change of content.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

from kgv_assets.legacy.catalogue import TABLES, Table

TEXT_KINDS = ("varchar", "char")


@dataclass(frozen=True)
class TableFidelity:
    """One legacy table as a peer copied it."""

    table: str
    source_rows: int
    copied_rows: int
    dropped_rows: int
    altered_rows: int
    found: bool = True

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


def _key(name: str) -> str:
    """A name with case and everything but letters and digits ignored (``an_WartelistenNr32``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def text_columns(table: Table) -> list[str]:
    """The legacy text columns of ``table`` (catalogue order)."""
    return [c.name for c in table.columns if c.kind in TEXT_KINDS]


def _hashes(frame: pl.DataFrame) -> pl.DataFrame:
    """Row hash → how many rows have it."""
    return frame.hash_rows(seed=0).rename("h").to_frame().group_by("h").len("n")


def source_hashes(sqlite_path: Path) -> dict[str, pl.DataFrame]:
    """Per legacy table: the row hashes of its text columns (bytes as stored) and their counts."""
    out = {}
    with adbc_sqlite.connect(f"file:{sqlite_path}?mode=ro") as conn, conn.cursor() as cur:
        for table in TABLES:
            columns = text_columns(table)
            names = ", ".join(f'CAST("{c}" AS BLOB) AS "{c}"' for c in columns)
            cur.execute(f'SELECT {names} FROM "{table.name}"')  # names from the catalogue
            frame = pl.from_arrow(cur.fetch_arrow_table())
            assert isinstance(frame, pl.DataFrame)
            out[table.name] = _hashes(frame.cast(dict.fromkeys(columns, pl.Binary)))
    return out


def _peer_tables(conn: psycopg.Connection) -> dict[str, tuple[str, str]]:
    """Normalised name → (schema, table) of the peer's tables (not its bookkeeping ``_dlt_*``)."""
    rows = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        " AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_dlt\\_%'"
    ).fetchall()
    return {_key(t): (s, t) for s, t in rows}


def _peer_columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchall()
    return {_key(c): c for (c,) in rows}


def _peer_frame(
    conn: psycopg.Connection, schema: str, table: str, columns: list[str | None]
) -> pl.DataFrame:
    """The peer's values of ``columns`` (a missing column reads as NULL) as bytes, NULL as null."""
    select = sql.SQL(", ").join(
        sql.SQL("{}::text").format(sql.Identifier(c)) if c else sql.SQL("NULL::text")
        for c in columns
    )
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        query = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT csv)").format(
            select, sql.Identifier(schema, table)
        )
        with cur.copy(query) as copy:
            for chunk in copy:
                buffer.write(chunk)
    names = [f"c{i}" for i in range(len(columns))]
    if buffer.tell() == 0:
        return pl.DataFrame({n: pl.Series([], dtype=pl.Binary) for n in names})
    buffer.seek(0)
    data = pa_csv.read_csv(
        buffer,
        read_options=pa_csv.ReadOptions(column_names=names),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        # COPY writes NULL as an empty unquoted field and '' as "": only the former is null
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.binary()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame


def compare(pg_url: str, source: Mapping[str, pl.DataFrame]) -> list[TableFidelity]:
    """Every legacy table of the peer's database at ``pg_url`` against ``source_hashes``."""
    out = []
    with psycopg.connect(pg_url) as conn:
        found = _peer_tables(conn)
        for table in TABLES:
            wanted = source[table.name]
            source_rows = int(wanted["n"].sum())
            where = found.get(_key(table.name))
            if where is None:
                out.append(TableFidelity(table.name, source_rows, 0, source_rows, 0, found=False))
                continue
            peer_columns = _peer_columns(conn, *where)
            columns = [peer_columns.get(_key(c)) for c in text_columns(table)]
            frame = _peer_frame(conn, *where, columns)
            copied = frame.height
            both = wanted.join(_hashes(frame), on="h", how="inner", suffix="_peer")
            matched = int(both.select(pl.min_horizontal("n", "n_peer").sum()).item() or 0)
            dropped = max(0, source_rows - copied)
            out.append(
                TableFidelity(
                    table.name, source_rows, copied, dropped, source_rows - matched - dropped
                )
            )
    return out


def totals(tables: list[TableFidelity]) -> dict[str, int]:
    """Rows copied, dropped and altered over all tables."""
    return {
        "copied_rows": sum(t.copied_rows for t in tables),
        "dropped_rows": sum(t.dropped_rows for t in tables),
        "altered_rows": sum(t.altered_rows for t in tables),
    }
