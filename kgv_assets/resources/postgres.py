"""The PostgreSQL resource: a psycopg 3 connection pool and a COPY-based bulk loader."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

import dagster as dg
import pandas as pd
import polars as pl
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.copy import Copy, QueuedLibpqWriter
from psycopg_pool import ConnectionPool
from pydantic import Field, PrivateAttr

from kgv_assets.resources.copy_format import encode_copy_csv, encode_copy_text
from kgv_assets.security.connection import READER_URL, connect, login_url, tls_options


def qualified(schema: str, table: str) -> sql.Identifier:
    """``"schema"."table"`` as a safely quoted identifier."""
    return sql.Identifier(schema, table)


class CopyStream:
    """One COPY into ``schema.table``, kept open across chunks and fed by a writer thread.

    ``write`` encodes a chunk here and hands the bytes to psycopg's ``QueuedLibpqWriter``,
    whose thread sends them while this thread goes on (reading, converting and encoding the
    next chunk): PostgreSQL parses, converts and stores one chunk on the other core while
    Python prepares the next, instead of each side waiting for the other once per chunk.

    While it is open the connection can run nothing else; ``interrupt`` closes the COPY, runs
    a function on the connection (e.g. writing the quarantine) and opens a new COPY. Use it as
    a context manager: leaving with an exception aborts the COPY (the caller's transaction
    then rolls back), leaving normally finishes it.
    """

    def __init__(
        self, conn: psycopg.Connection, schema: str, table: str, columns: Sequence[str]
    ) -> None:
        """Prepare the COPY; it starts on the first ``write``."""
        self.conn = conn
        self.columns = list(columns)
        self.rows = 0
        self._target = sql.SQL("COPY {} ({}) FROM STDIN").format(
            qualified(schema, table), sql.SQL(", ").join(map(sql.Identifier, self.columns))
        )
        self._open: ExitStack | None = None
        self._copy: Copy | None = None
        self._format = ""

    def write(self, df: pd.DataFrame | pl.DataFrame) -> int:
        """Queue the ``columns`` of ``df``; return the number of rows.

        A pandas frame goes as COPY text (``encode_copy_text``), a polars frame as COPY csv
        written by polars itself (``encode_copy_csv``: no Python object per value). A write in
        the other format than the open COPY's finishes that COPY and starts another.
        """
        if df.is_empty() if isinstance(df, pl.DataFrame) else df.empty:
            return 0
        if isinstance(df, pl.DataFrame):
            form, payload = "csv", encode_copy_csv(df.select(self.columns))
        else:
            form, payload = "text", encode_copy_text(df[self.columns])
        if self._copy is not None and form != self._format:
            self.close()
        if self._copy is None:
            stack = ExitStack()
            cursor = stack.enter_context(self.conn.cursor())
            statement = sql.SQL("{} (FORMAT {})").format(self._target, sql.SQL(form))
            self._copy = stack.enter_context(
                cursor.copy(statement, writer=QueuedLibpqWriter(cursor))
            )
            self._open, self._format = stack, form
        self._copy.write(payload)
        self.rows += len(df)
        return len(df)

    def close(self, error: BaseException | None = None) -> None:
        """Finish the COPY (waits for the server), or abort it with ``error``."""
        stack, self._open, self._copy = self._open, None, None
        if stack is None:
            return
        if error is None:
            stack.close()
        else:
            stack.__exit__(type(error), error, error.__traceback__)

    def interrupt(self, run: Callable[[psycopg.Connection], object]) -> None:
        """Close the COPY, ``run`` something on the connection; the next write reopens it."""
        self.close()
        run(self.conn)

    def __enter__(self) -> CopyStream:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        self.close(error)


def copy_frame(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    df: pd.DataFrame | pl.DataFrame,
    columns: Sequence[str],
) -> int:
    """COPY the ``columns`` of ``df`` into ``schema.table`` in the caller's transaction.

    Returns the number of rows written.
    """
    with CopyStream(conn, schema, table, columns) as stream:
        return stream.write(df)


class PostgresResource(dg.ConfigurableResource):
    """The target PostgreSQL (15+, PostGIS) that receives staging, target and bookkeeping.

    Configured from ``KGV_PG_URL`` (a libpq connection URI: the loader's login); the password
    never appears in logs or metadata (``dsn_for_people`` hides it). ``reading`` connects as
    the read-only login of the checks and the report (``KGV_PG_READER_URL``, read when the
    run uses it; ``url`` where it is not set). TLS: ``kgv_assets.security.connection``.
    """

    url: str = Field(description="libpq connection URI, e.g. postgresql://user@host:5432/kgv")
    pool_max_size: int = Field(default=4, description="Connections kept in the pool")
    _pool: ConnectionPool | None = PrivateAttr(default=None)
    _reader_pool: ConnectionPool | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:  # noqa: D102
        self._pool = None
        self._reader_pool = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:  # noqa: D102
        self.close()

    def close(self) -> None:
        """Close the pool (connections are opened again on the next use)."""
        for pool in (self._pool, self._reader_pool):
            if pool is not None:
                pool.close()
        self._pool = self._reader_pool = None

    def _open_pool(self, url: str) -> ConnectionPool:
        # JIT off for the session: the migration's queries are large one-off sorts and
        # aggregates, where compiling took longer than running (one check: 79x).
        kwargs = {
            "autocommit": True,
            "application_name": "kgv_assets",
            "options": "-c jit=off",
            **tls_options(url),
        }
        # One connection first: a refusal (TLS, password, host) fails now, in one line,
        # instead of the pool retrying it until its timeout.
        connect(url, **kwargs).close()
        return ConnectionPool(
            url, min_size=1, max_size=self.pool_max_size, open=True, kwargs=kwargs
        )

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; the caller opens transactions with ``conn.transaction()``."""
        if self._pool is None:
            self._pool = self._open_pool(self.url)
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[psycopg.Connection]:
        """A pooled connection as the read-only login (``KGV_PG_READER_URL``, else ``url``).

        The reader's URL counts only where it names ``url``'s database (``login_url``).
        """
        reader = login_url(READER_URL, self.url)
        if reader == self.url:
            with self.connection() as conn:
                yield conn
            return
        if self._reader_pool is None:
            self._reader_pool = self._open_pool(reader)
        with self._reader_pool.connection() as conn:
            yield conn

    @property
    def dsn_for_people(self) -> str:
        """Host, port and database only: safe for logs and metadata."""
        info = conninfo_to_dict(self.url)
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
