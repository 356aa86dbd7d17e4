"""The PostgreSQL resource: a psycopg 3 connection pool and a COPY-based bulk loader."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dagster as dg
import pandas as pd
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool
from pydantic import Field, PrivateAttr

from kgv_assets.resources.copy_format import encode_copy_text


def qualified(schema: str, table: str) -> sql.Composed:
    """``"schema"."table"`` as a safely quoted identifier."""
    return sql.Identifier(schema, table)


def copy_frame(
    conn: psycopg.Connection, schema: str, table: str, df: pd.DataFrame, columns: Sequence[str]
) -> int:
    """COPY the ``columns`` of ``df`` into ``schema.table`` in the caller's transaction.

    Returns the number of rows written.
    """
    if df.empty:
        return 0
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT text)").format(
        qualified(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    payload = encode_copy_text(df[list(columns)])
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        # Large payloads in slices keep libpq's buffer (and peak memory) bounded.
        step = 8 << 20
        for start in range(0, len(payload), step):
            copy.write(payload[start : start + step])
    return len(df)


class PostgresResource(dg.ConfigurableResource):
    """The target PostgreSQL (15+, PostGIS) that receives staging, target and bookkeeping.

    Configured from ``KGV_PG_URL`` (a libpq connection URI); the password never appears in logs
    or metadata (``dsn_for_people`` hides it).
    """

    url: str = Field(description="libpq connection URI, e.g. postgresql://user@host:5432/kgv")
    pool_max_size: int = Field(default=4, description="Connections kept in the pool")
    _pool: ConnectionPool | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:  # noqa: D102
        self._pool = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:  # noqa: D102
        self.close()

    def close(self) -> None:
        """Close the pool (connections are opened again on the next use)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; the caller opens transactions with ``conn.transaction()``."""
        if self._pool is None:
            self._pool = ConnectionPool(
                self.url,
                min_size=1,
                max_size=self.pool_max_size,
                open=True,
                kwargs={"autocommit": True, "application_name": "kgv_assets"},
            )
        with self._pool.connection() as conn:
            yield conn

    @property
    def dsn_for_people(self) -> str:
        """Host, port and database only: safe for logs and metadata."""
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
