"""The legacy-source resource: reads the legacy tables through SQLAlchemy, never writes.

Production: ``mssql+pyodbc://user:pass@host/KGV?driver=ODBC+Driver+18+for+SQL+Server`` (or
FreeTDS: ``driver=FreeTDS&TDS_Version=7.2`` for SQL Server 2005, 7.3 for 2008, 7.4 for 2012+)
with schema ``dbo`` (the default for ``mssql`` URLs). Demo and tests: any SQLite file with the
legacy table and column names, ``sqlite:///path/to/kgv.sqlite`` (no schema).

The server's version is asked once, on the first use of the engine, and decides the T-SQL of
the fingerprints (``kgv_assets.legacy.dialects``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
import pandas as pd
import polars as pl
import sqlalchemy as sa
from pydantic import Field, PrivateAttr
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from kgv_assets.layout import HASH_COLUMN, PARTITION_COLUMN
from kgv_assets.legacy.catalogue import TABLES, Table
from kgv_assets.legacy.dialects import (
    COMPATIBILITY_QUERY,
    COMPATIBILITY_QUERY_2000,
    SQLITE,
    STRATEGIES,
    VERSION_QUERY,
    Strategy,
    detect_mssql,
)
from kgv_assets.legacy.extract import count_rows_by_partition, select_rows
from kgv_assets.legacy.fingerprint import (
    Fingerprint,
    FingerprintSums,
    aggregate_row_hashes,
    client_fingerprints,
    fingerprint_query,
)
from kgv_assets.resources.batches import Batch, sqlite_batches, sqlite_row_hashes
from kgv_assets.resources.odbc import (
    ArrowReaderUnavailable,
    OdbcSource,
    arrow_batches,
    frames_from_cursor,
    open_arrow_reader,
    pyodbc_chunks,
)
from kgv_assets.transform.hashing import row_hash

COLUMNS_QUERY = (
    "SELECT TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = :schema"
)
"""The columns of every table of the legacy schema (INFORMATION_SCHEMA: SQL Server 2000+)."""


def _read_only(dbapi_conn: Any, _record: Any) -> None:
    """SQLite: open read-only in effect (query_only), and keep undecodable bytes visible.

    Text that is not valid UTF-8 arrives with surrogate escapes, so the legacy schema can
    quarantine it with a reason instead of the whole read failing.
    """
    dbapi_conn.execute("PRAGMA query_only = ON")
    dbapi_conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")


class LegacySourceResource(dg.ConfigurableResource):
    """The legacy KGV database (SQL Server in production, SQLite for the demo)."""

    url: str = Field(description="SQLAlchemy URL of the legacy database (KGV_SOURCE_URL)")
    source_schema: str | None = Field(
        default=None,
        description=(
            "Schema of the legacy tables; unset: KGV_SOURCE_SCHEMA if set, else 'dbo' for "
            "SQL Server and none for SQLite"
        ),
    )
    fingerprint_strategy: str | None = Field(
        default=None,
        description=(
            "Force a fingerprint strategy by name (kgv_assets.legacy.dialects); unset: chosen "
            "from the server's version"
        ),
    )
    chunk_rows: int = Field(default=100_000, description="Rows per chunk while streaming")
    arrow_reader: bool = Field(
        default=True,
        description=(
            "Read mssql+pyodbc sources Arrow-natively through arrow-odbc where it connects; "
            "false: always through pyodbc (the same rows, hashes and partitions, slower)"
        ),
    )
    _engine: Engine | None = PrivateAttr(default=None)
    _strategy: Strategy | None = PrivateAttr(default=None)
    _server: str | None = PrivateAttr(default=None)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created on first use; importing creates nothing)."""
        if self._engine is None:
            url = make_url(self.url)
            engine = sa.create_engine(url, pool_pre_ping=url.get_backend_name() != "sqlite")
            if url.get_backend_name() == "sqlite":
                event.listen(engine, "connect", _read_only)
            self._engine = engine
        return self._engine

    @property
    def backend(self) -> str:
        """``sqlite`` or ``mssql`` (SQLAlchemy's backend name of the URL)."""
        return make_url(self.url).get_backend_name()

    @property
    def schema_name(self) -> str | None:
        """The legacy schema: configured, else KGV_SOURCE_SCHEMA, else by backend.

        KGV_SOURCE_SCHEMA is optional (read when a run uses the source, never at import):
        unset or empty means ``dbo`` on SQL Server and no schema on SQLite.
        """
        configured = self.source_schema or dg.EnvVar("KGV_SOURCE_SCHEMA").get_value()
        if configured:
            return configured
        return "dbo" if self.backend == "mssql" else None

    @property
    def strategy(self) -> Strategy:
        """The fingerprint strategy of this source (the server is asked once)."""
        if self._strategy is None:
            if self.fingerprint_strategy:
                self._strategy = STRATEGIES[self.fingerprint_strategy]
            elif self.backend == "sqlite":
                self._strategy = SQLITE
            else:
                with self.engine.connect() as conn:
                    strategy, version, level = detect_mssql(conn)
                self._strategy = strategy
                self._server = f"SQL Server {version}, compatibility level {level}"
        return self._strategy

    @property
    def server_description(self) -> str:
        """The server's version and the strategy it runs, for logs (no credentials)."""
        strategy = self.strategy
        return f"{self._server or strategy.family}: fingerprints {strategy.name}"

    @property
    def url_for_people(self) -> str:
        """The URL without password, safe for logs and metadata."""
        return make_url(self.url).render_as_string(hide_password=True)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:  # noqa: D102
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def read_chunks(
        self, table: Table, partition_keys: Sequence[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Stream the table (or some partitions) as DataFrames of text plus ``_partition``.

        Rows come in the catalogue's stable order; memory stays at one chunk. The rows are
        fetched from the DBAPI cursor itself: every column is selected as text, so SQLAlchemy's
        per-row result processing would add nothing but time (a quarter of the read). Neither
        sqlite3 nor pyodbc buffers the result: the cursor streams. An ODBC source
        (``odbc_source``) is read through pyodbc with the statement the Arrow reader sends
        (``kgv_assets.resources.odbc``), so this is its fallback, row for row the same.
        """
        names = [*table.column_names, PARTITION_COLUMN]
        if (odbc := self.odbc_source()) is not None:
            sql, params = odbc.query(table, self.schema_name, partition_keys)
            yield from pyodbc_chunks(odbc, sql, params, names, self.chunk_rows)
            return
        stmt = select_rows(table, self.schema_name, partition_keys)
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            cursor = result.cursor
            assert cursor is not None, "a SELECT has a cursor"
            yield from frames_from_cursor(cursor, names, self.chunk_rows)
            result.close()

    def odbc_source(self) -> OdbcSource | None:
        """The ODBC data source of an ``mssql+pyodbc`` (or ``mssql``) URL; None for others.

        Its connection string is the one SQLAlchemy's pyodbc dialect connects with; the
        statements are compiled by the engine's dialect.
        """
        url = make_url(self.url)
        if (url.get_backend_name(), url.get_driver_name()) != ("mssql", "pyodbc"):
            return None
        return OdbcSource.from_engine(self.engine)

    def _arrow_odbc_batches(
        self, table: Table, partition_keys: Sequence[str] | None, keep: Sequence[str] | None
    ) -> Iterator[Batch] | None:
        """The ODBC source's batches through arrow-odbc; None where pyodbc reads instead.

        None for sources without ODBC, with ``arrow_reader`` off, and where arrow-odbc is not
        installed or the driver refuses it (logged, without the password): ``read_chunks``
        then gives the same rows, hashed alike.
        """
        odbc = self.odbc_source()
        if odbc is None or not self.arrow_reader:
            return None
        sql, params = odbc.query(table, self.schema_name, partition_keys)
        try:
            records = open_arrow_reader(odbc, sql, params, self.chunk_rows)
        except ArrowReaderUnavailable as error:
            dg.get_dagster_logger().warning(
                f"legacy source {self.url_for_people}: {table.name} read through pyodbc, "
                f"the Arrow reader is unavailable: {error}"
            )
            return None
        return arrow_batches(records, table, keep, odbc)

    def _arrow_batches(
        self,
        table: Table,
        partition_keys: Sequence[str] | None,
        keep: Sequence[str] | None,
        fingerprint: bool = False,
    ) -> Iterator[Batch] | None:
        """The source's Arrow-native batches: arrow-odbc for an ODBC source, ADBC for SQLite.

        None where only a DBAPI cursor reads the source (pyodbc: ``read_chunks``). ``keep``
        and ``fingerprint`` (SQLite only): see ``batches.to_batch``.
        """
        if (batches := self._arrow_odbc_batches(table, partition_keys, keep)) is not None:
            return batches
        if self._arrow_reads_sqlite and (path := self._sqlite_file):
            return sqlite_batches(path, table, partition_keys, self.chunk_rows, keep, fingerprint)
        return None

    @property
    def _arrow_reads_sqlite(self) -> bool:
        """Whether the rows come from the SQLite file through ADBC (an ODBC source goes first)."""
        return self._sqlite_file is not None and self.odbc_source() is None

    @property
    def _sqlite_file(self) -> str | None:
        """The SQLite file the Arrow-native reader opens; None for other sources."""
        url = make_url(self.url)
        return url.database if url.get_backend_name() == "sqlite" and url.database else None

    def read_hashed_chunks(
        self, table: Table, partition_keys: Sequence[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """``read_chunks`` plus each row's content hash (``_row_hash``): what staging loads.

        From SQLite the rows come Arrow-natively with the hash computed on the stored bytes
        (``kgv_assets.resources.batches``: the same hash as of the text); a value that is not
        valid UTF-8 is put back as the surrogate-escaped text ``read_chunks`` gives, so the
        legacy schema quarantines it exactly as before. From SQL Server through arrow-odbc
        where it connects (``kgv_assets.resources.odbc``), else ``read_chunks``, hashed.
        Rows come in no particular order (staging keeps none).
        """
        for read in self.read_for_staging(table, partition_keys):
            yield read.to_pandas() if isinstance(read, pl.DataFrame) else read

    @property
    def fingerprints_while_reading(self) -> bool:
        """Whether ``read_for_staging`` can fingerprint what it reads (SQLite: hashed here)."""
        return self._arrow_reads_sqlite and self.strategy is SQLITE

    def read_for_staging(
        self,
        table: Table,
        partition_keys: Sequence[str] | None = None,
        fingerprints: FingerprintSums | None = None,
    ) -> Iterator[pl.DataFrame | pd.DataFrame]:
        """``read_hashed_chunks`` as the staging load takes it: a polars frame or a pandas chunk.

        A polars frame (validated by polars, its valid rows COPied as csv by polars) where the
        source has an Arrow-native reader here (SQLite through ADBC, an ODBC source through
        arrow-odbc); a pandas chunk (validated by the pandera schema, COPied as text) otherwise
        (pyodbc, the fallback of an ODBC source), and for an SQLite batch holding bytes that
        are not UTF-8 (null in the frame, surrogate-escaped text in the chunk, which the schema
        quarantines with their bytes). Through arrow-odbc no value is lost in decoding: bytes
        that are not UTF-8 or a value longer than its column are errors of the read, never a
        changed value. From SQLite,
        ``fingerprints`` (see ``fingerprints_while_reading``) sums the fingerprints of the rows
        read, hashed in the same pass over their bytes: no second read of the table.
        """
        if fingerprints is not None and not self.fingerprints_while_reading:
            raise ValueError("only an SQLite source fingerprints while it reads")
        batches = self._arrow_batches(table, partition_keys, None, fingerprints is not None)
        if batches is not None:
            for batch in batches:
                if fingerprints is not None and batch.fingerprint_hashes is not None:
                    fingerprints.add(batch.rows[PARTITION_COLUMN], batch.fingerprint_hashes)
                if not batch.undecodable:
                    yield batch.rows
                    continue
                chunk = batch.rows.to_pandas()  # text as object columns, NULL as None
                for row, values in batch.undecodable.items():  # rare: invalid bytes only
                    for column, raw in values.items():
                        chunk.at[row, column] = raw.decode("utf-8", "surrogateescape")
                yield chunk
            return
        for chunk in self.read_chunks(table, partition_keys):
            yield chunk.assign(**{HASH_COLUMN: row_hash(chunk, table.column_names)})

    def read_batches(
        self,
        table: Table,
        partition_keys: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[pl.DataFrame]:
        """Stream the table (or some partitions) as polars frames, with partition and row hash.

        Arrow-native for SQLite (``kgv_assets.resources.batches``) and for SQL Server where
        arrow-odbc connects (``kgv_assets.resources.odbc``); otherwise read as ``read_chunks``
        and hashed the same way. Rows come in no particular order. ``columns``:
        the legacy columns the frames hold (default all); the hash is of the whole row always,
        and a reader that needs only some (the content check: the key) decodes only those.
        """
        keep = list(table.column_names if columns is None else columns)
        if (batches := self._arrow_batches(table, partition_keys, keep)) is not None:
            for batch in batches:
                yield batch.rows
            return
        for chunk in self.read_hashed_chunks(table, partition_keys):
            frame = chunk[[*keep, PARTITION_COLUMN, HASH_COLUMN]]
            yield pl.from_pandas(frame).cast({c: pl.String for c in keep})

    def source_columns(self) -> dict[str, set[str]]:
        """Per table of the source's legacy schema, its column names (for the drift check)."""
        found: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            if self.backend == "sqlite":
                for t in TABLES:
                    rows = conn.exec_driver_sql(f'PRAGMA table_info("{t.name}")').all()
                    if rows:
                        found[t.name] = {str(r[1]) for r in rows}
                return found
            rows = conn.execute(sa.text(COLUMNS_QUERY), {"schema": self.schema_name}).all()
        for table_name, column in rows:
            found.setdefault(str(table_name), set()).add(str(column))
        return found

    def partition_keys(self) -> set[str]:
        """Every partition key that occurs in any partitioned legacy table."""
        return {k for t in TABLES if t.is_partitioned for k in self.partition_counts(t)}

    def partition_counts(
        self, table: Table, partition_keys: Sequence[str] | None = None
    ) -> dict[str, int]:
        """Rows per partition key (only ``partition_keys``, if given), counted by the source."""
        query = count_rows_by_partition(table, self.schema_name, partition_keys)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {str(key): int(n) for key, n in rows}

    def fingerprints(
        self, table: Table, partition_keys: Sequence[str] | None = None
    ) -> dict[str, Fingerprint]:
        """Row count and content checksum per partition key, computed by the source database.

        With ``partition_keys`` only those partitions are hashed (a staging load of some
        partitions needs no more); partitions without rows are absent either way.
        """
        strategy = self.strategy
        if strategy is SQLITE:
            return self._sqlite_fingerprints(table, partition_keys)
        if not strategy.server_side:
            return self._client_fingerprints(table, strategy, partition_keys)
        query = fingerprint_query(table, self.schema_name, strategy, None, partition_keys)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {
            str(key): Fingerprint(int(n), int(hi), int(lo), strategy.name)
            for key, n, hi, lo in rows
        }

    def _sqlite_fingerprints(
        self, table: Table, partition_keys: Sequence[str] | None
    ) -> dict[str, Fingerprint]:
        """SQLite: the stored bytes read Arrow-natively, hashed and summed by the client."""
        path = self._sqlite_file
        if path is None:
            raise ValueError(f"an SQLite source is a file: {self.url_for_people}")
        hashed = sqlite_row_hashes(path, table, partition_keys, self.chunk_rows)
        return aggregate_row_hashes(hashed, SQLITE.name)

    def _client_fingerprints(
        self, table: Table, strategy: Strategy, partition_keys: Sequence[str] | None = None
    ) -> dict[str, Fingerprint]:
        """A server without HASHBYTES (SQL Server 2000): stream the rows, hash them here."""
        stmt = select_rows(table, self.schema_name, partition_keys)
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            cursor = result.cursor
            assert cursor is not None, "a SELECT has a cursor"

            def rows() -> Iterator[Any]:
                while chunk := cursor.fetchmany(self.chunk_rows):
                    yield from chunk

            fingerprints = client_fingerprints(rows(), strategy.name)
            result.close()
        return fingerprints


def source_statements(strategy: Strategy, schema: str = "dbo") -> dict[str, sa.ClauseElement | str]:
    """Every statement this resource can send to a SQL Server of ``strategy``, by name.

    What the version matrix test (``kgv_assets_tests/legacy/test_dialects.py``) compiles and
    checks against each version's functions: a new statement belongs here.
    """
    out: dict[str, sa.ClauseElement | str] = {
        "version": VERSION_QUERY,
        "compatibility_level": COMPATIBILITY_QUERY
        if strategy.min_major >= 9
        else COMPATIBILITY_QUERY_2000,
        "columns": sa.text(COLUMNS_QUERY).bindparams(schema=schema),
    }
    for t in TABLES:
        out[f"{t.name}: rows"] = select_rows(t, schema)
        out[f"{t.name}: rows of partitions"] = select_rows(t, schema, ["2019", "undated"])
        out[f"{t.name}: counts"] = count_rows_by_partition(t, schema)
        out[f"{t.name}: counts of partitions"] = count_rows_by_partition(
            t, schema, ["2019", "undated"]
        )
        if strategy.server_side:
            out[f"{t.name}: fingerprints"] = fingerprint_query(t, schema, strategy)
            out[f"{t.name}: fingerprints of partitions"] = fingerprint_query(
                t, schema, strategy, None, ["2019", "undated"]
            )
    return out
