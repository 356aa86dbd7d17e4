"""Legacy rows through ODBC: Arrow batches by arrow-odbc, and pyodbc tuples as the fallback.

SQL Server is read through ODBC. pyodbc hands over a Python tuple per row and a Python string
per value; ``arrow-odbc`` binds column buffers and fills Arrow arrays in Rust, row sets at a
time, without a Python object per value. Both readers send the same statement as
``LegacySourceResource.read_chunks`` (``select_rows``: every column as canonical text, in the
catalogue's order), compiled by the source's SQLAlchemy dialect with ``?`` placeholders; the
values (partition keys, the year range, the sentinel dates) stay parameters.

The seam is small on purpose: an ``OdbcSource`` is an ODBC connection string plus the dialect
that compiles the statement. In production that is SQL Server's (``mssql``), built the way
SQLAlchemy's pyodbc dialect builds it from the ``mssql+pyodbc`` URL; the tests read a real
SQLite file through the SQLite ODBC driver with the ``sqlite`` dialect (SQLAlchemy has no
"SQLite over ODBC" dialect).

What arrow-odbc guarantees, and why the staging load may COPY its frames as they are: a text
value arrives as the driver's UTF-8 or not at all. Bytes that are not valid UTF-8 and a value
longer than the column size the driver reported are errors, never a lossy or truncated value.
(The SQLite ODBC driver reports 255 characters for any expression, ``CAST(… AS TEXT)`` too;
SQL Server reports each ``varchar(n)``/``CONVERT`` size exactly.) The batches are hashed like
the SQLite ADBC reader's (``kgv_assets.resources.batches.to_batch``): a text hashes like its
UTF-8 bytes, so both readers give the hash ``row_hash`` gives the text.

Passwords never leave this module: ``OdbcSource`` does not show its connection string, and
messages of the drivers are scrubbed of the password before they are logged or raised.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy.engine import Dialect, Engine

from kgv_assets.layout import PARTITION_COLUMN
from kgv_assets.legacy.catalogue import Table
from kgv_assets.legacy.extract import select_rows
from kgv_assets.resources.batches import BATCH_ROWS, Batch, compile_qmark, to_batch

ARROW_BUFFER_BYTES = 64 << 20
"""The most bytes of one arrow-odbc transit buffer (two: one fills while one is decoded).

arrow-odbc sizes its buffers by the column sizes the driver reports, not by the values: SQL
Server reports each ``varchar(n)`` exactly, the SQLite ODBC driver 255 characters for every
expression (about 12 KB per row of ``Verlauf``), so ``chunk_rows`` alone could ask for half a
gigabyte. Batches get fewer rows instead; beyond a few thousand rows a batch reads no faster.
"""

_PASSWORD = re.compile(r"(?i)\b(?:PWD|Password)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)")


class ArrowReaderUnavailable(RuntimeError):
    """arrow-odbc is not installed, or it could not connect or run the statement."""


@dataclass(frozen=True)
class OdbcSource:
    """An ODBC data source and the SQLAlchemy dialect its statements are compiled for.

    Attributes:
        connection_string: The ODBC connection string (holds the password: never shown).
        dialect: Compiles ``select_rows`` for the source (``?`` placeholders).
        connect_args: pyodbc's keyword arguments from the URL (``autocommit``, ``ansi``, …).
    """

    connection_string: str = field(repr=False)
    dialect: Dialect
    connect_args: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_engine(cls, engine: Engine) -> OdbcSource:
        """The ODBC source of an ``mssql+pyodbc`` engine, as its dialect would connect.

        ``create_connect_args`` turns the URL (``user:pass@host/db?driver=…`` or
        ``odbc_connect=…``) into the connection string SQLAlchemy hands to ``pyodbc.connect``.
        """
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        (connection_string,) = args
        return cls(str(connection_string), engine.dialect, dict(kwargs))

    def scrub(self, message: str) -> str:
        """``message`` with every password of the connection string replaced by ``***``."""
        forms: set[str] = set()
        for match in _PASSWORD.finditer(self.connection_string):
            secret = match.group(1)
            forms.add(secret)
            if secret.startswith("{"):  # {…} quoting, with }} for a }
                forms.add(secret[1:-1].replace("}}", "}"))
        for form in sorted(forms - {""}, key=len, reverse=True):  # {pw} before pw
            message = message.replace(form, "***")
        return message

    def query(
        self, table: Table, schema: str | None, partition_keys: Sequence[str] | None
    ) -> tuple[str, list[Any]]:
        """``select_rows`` compiled for this source: SQL with ``?`` and the parameters."""
        return compile_qmark(select_rows(table, schema, partition_keys), self.dialect)


def _as_text_parameter(value: Any) -> str | None:
    """arrow-odbc binds every parameter as VARCHAR: the text of an int or a str, or NULL.

    The server converts it back where it compares (``YEAR(x) BETWEEN '1800' AND '2199'``;
    SQLite applies the integer affinity of ``CAST(… AS INTEGER)`` to it).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"no text form for a {type(value).__name__} parameter")


def _all_text(schema: pa.Schema) -> pa.Schema:
    """Every column fetched as text, whatever type the driver reports for it."""
    return pa.schema([pa.field(f.name, pa.string()) for f in schema])


def open_arrow_reader(
    source: OdbcSource, sql: str, params: Sequence[Any], batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Connect with arrow-odbc and run ``sql``; the record batches as they come.

    Raises:
        ArrowReaderUnavailable: arrow-odbc is not installed, or the driver refused the
            connection or the statement (the message without the password).
    """
    try:
        import arrow_odbc
    except ImportError as error:
        raise ArrowReaderUnavailable(f"arrow-odbc is not installed ({error})") from None
    try:
        return arrow_odbc.read_arrow_batches_from_odbc(
            sql,
            source.connection_string,
            batch_size=batch_rows,
            parameters=[_as_text_parameter(v) for v in params],
            max_bytes_per_batch=ARROW_BUFFER_BYTES,
            map_schema=_all_text,
            fetch_concurrently=True,
        )
    except arrow_odbc.Error as error:
        raise ArrowReaderUnavailable(source.scrub(str(error))) from None


def arrow_batches(
    records: Iterator[pa.RecordBatch],
    table: Table,
    keep: Sequence[str] | None = None,
    source: OdbcSource | None = None,
) -> Iterator[Batch]:
    """The non-empty record batches of ``select_rows`` as ``Batch``es: decoded, hashed.

    The text columns are viewed as their UTF-8 bytes (no copy) and go through ``to_batch``,
    the SQLite reader's decoding and hashing. An error of the driver while reading (invalid
    UTF-8, a value too long for its reported size) is raised, scrubbed of the password:
    rows were handed on already, so no other reader can take over silently.
    """
    from arrow_odbc import Error as ArrowOdbcError

    binary = pa.schema([pa.field(n, pa.binary()) for n in [*table.column_names, PARTITION_COLUMN]])
    try:
        for record in records:
            if record.num_rows:
                yield to_batch(pa.Table.from_batches([record]).cast(binary), table, keep)
    except ArrowOdbcError as error:
        message = without_values(str(error))
        message = message if source is None else source.scrub(message)
        raise RuntimeError(f"arrow-odbc failed while reading {table.name}: {message}") from None


_VALUE_SHOWN = re.compile(r"(?is)(representation of (?:the )?value|value)\s*:.*")


def without_values(message: str) -> str:
    """A driver's message without the legacy value it quotes (legacy data is personal data).

    arrow-odbc's message for bytes that are not UTF-8 ends with a lossy copy of the value
    ("Lossy representation of value: M\ufffdller …"): everything after such a "value:" goes.
    """
    return _VALUE_SHOWN.sub(r"\1 withheld (legacy data)", message)


def frames_from_cursor(
    cursor: Any, names: Sequence[str], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """A DBAPI cursor's rows as DataFrames of ``chunk_rows`` (object columns, NULL as None)."""
    while rows := cursor.fetchmany(chunk_rows):
        yield pd.DataFrame.from_records(rows, columns=list(names), coerce_float=False)


def pyodbc_chunks(
    source: OdbcSource, sql: str, params: Sequence[Any], names: Sequence[str], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """The fallback: ``sql`` through pyodbc, its rows as DataFrames (``read_chunks``' form).

    Raises:
        RuntimeError: the driver's error, scrubbed of the password.
    """
    import pyodbc

    try:
        conn = pyodbc.connect(source.connection_string, **source.connect_args)
    except pyodbc.Error as error:
        raise RuntimeError(f"pyodbc could not connect: {source.scrub(str(error))}") from None
    with contextlib.closing(conn), contextlib.closing(conn.cursor()) as cursor:
        cursor.execute(sql, list(params))
        yield from frames_from_cursor(cursor, names, chunk_rows)
