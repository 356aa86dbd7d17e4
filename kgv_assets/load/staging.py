"""Land one legacy table (or some of its partitions) in PostgreSQL schema ``staging``.

Per chunk streamed from the source: hash each row's content, validate the chunk with the
table's legacy schema (every reason per row), COPY the valid rows into ``staging."<Table>"``
and put the others into the quarantine with their reasons. A chunk read Arrow-natively stays a
polars frame: the schema's rules run as polars expressions (``legacy_reasons``, differential-
tested against the pandera schema) and polars writes the COPY as csv; a pandas chunk (pyodbc,
or bytes that are not UTF-8) goes through the pandera schema and COPY text. The whole load is
one transaction: the partitions' old rows and old quarantine entries are deleted first, so a
(re)load is idempotent and a failed load leaves the previous state untouched. The same
transaction records the source fingerprints of the loaded partitions (``kgv_assets.sync.store``:
what incremental sync compares against).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
import psycopg
from psycopg import sql

from kgv_assets.layout import (
    HASH_COLUMN,
    PARTITION_COLUMN,
    RUN_COLUMN,
    STAGING,
    UNPARTITIONED,
    staged,
)
from kgv_assets.legacy.catalogue import Table
from kgv_assets.legacy.fingerprint import Fingerprint, FingerprintSums
from kgv_assets.legacy.schemas import LEGACY_SCHEMAS, legacy_reasons
from kgv_assets.load import accounting, quarantine
from kgv_assets.load.accounting import LoadResult, StageTimer, Tally
from kgv_assets.load.writer import BulkLoad, is_empty
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import CopyStream
from kgv_assets.security.erasure import redact_suppressed
from kgv_assets.sync.store import record_fingerprints
from kgv_assets.validation.reasons import failure_reasons


def staging_columns(table: Table) -> list[str]:
    """The columns of ``staging."<Table>"``: the legacy columns plus bookkeeping."""
    return [*table.column_names, PARTITION_COLUMN, HASH_COLUMN, RUN_COLUMN]


def staging_ddl(table: Table) -> sql.Composed:
    """``CREATE TABLE IF NOT EXISTS staging."<Table>"`` from the catalogue."""
    columns = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(c.name),
            sql.SQL(c.pg_staging_type),  # type: ignore[arg-type]  # a fixed set of type names
            sql.SQL("" if c.nullable else " NOT NULL"),
        )
        for c in table.columns
    ]
    columns += [
        sql.SQL("{} text NOT NULL").format(sql.Identifier(PARTITION_COLUMN)),
        sql.SQL("{} bigint NOT NULL").format(sql.Identifier(HASH_COLUMN)),
        sql.SQL("{} text NOT NULL").format(sql.Identifier(RUN_COLUMN)),
    ]
    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {table} ({columns});"
        " CREATE INDEX IF NOT EXISTS {index} ON {table} ({partition});"
        " COMMENT ON TABLE {table} IS {comment}"
    ).format(
        table=staged(table.name),
        columns=sql.SQL(", ").join(columns),
        index=sql.Identifier(f"{table.name}_partition"),
        partition=sql.Identifier(PARTITION_COLUMN),
        comment=sql.Literal(f"Legacy dbo.{table.name}, landed losslessly. {table.description}"),
    )


def ensure_staging_table(conn: psycopg.Connection, table: Table) -> None:
    """Create ``staging."<Table>"`` unless it exists (the loader may not create tables)."""
    found = conn.execute("SELECT to_regclass(%s)", (staged(table.name).as_string(conn),)).fetchone()
    if not (found and found[0]):
        conn.execute(staging_ddl(table))


def _clear(conn: psycopg.Connection, table: Table, partition_keys: Sequence[str] | None) -> None:
    if partition_keys is None:
        conn.execute(sql.SQL("TRUNCATE {}").format(staged(table.name)))
    else:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                staged(table.name), sql.Identifier(PARTITION_COLUMN)
            ),
            (list(partition_keys),),
        )
    quarantine.clear(conn, table, ["legacy"], partition_keys)


def stage_table(
    source: LegacySourceResource,
    conn: psycopg.Connection,
    table: Table,
    partition_keys: Sequence[str] | None,
    run_id: str,
    fingerprints: Mapping[str, Fingerprint] | None = None,
) -> LoadResult:
    """(Re)load ``table`` — all of it, or only ``partition_keys`` — into staging.

    Args:
        source: The legacy source to stream from.
        conn: An autocommit connection to the target PostgreSQL; the load runs in one
            transaction on it.
        table: The legacy table.
        partition_keys: The partitions to (re)load; None for an unpartitioned table or all.
        run_id: The Dagster run, recorded on every staged and quarantined row.
        fingerprints: The source's fingerprints of these partitions, taken by the sync pass
            that requested the load (before the read); None: the load fingerprints the
            partitions itself (a server before the read; SQLite in the read, of its rows).
    """
    started = time.perf_counter()
    keys = partition_keys if table.is_partitioned else None
    tally = Tally()
    timer = StageTimer()
    schema = LEGACY_SCHEMAS[table.name]
    # Only the partitions loaded: hashing the whole table again cost more than the read. From
    # SQLite the read itself fingerprints the rows it reads (one pass over their bytes); from
    # a server, taken before the read: a change made during the read is seen next time.
    in_read = fingerprints is None and source.fingerprints_while_reading
    summed = FingerprintSums() if in_read else None
    if fingerprints is None and summed is None:
        fingerprints = source.fingerprints(table, keys)
    with conn.transaction():
        ensure_staging_table(conn, table)
        _clear(conn, table, keys)
        # Into an empty table (the first load), the partition index is built after the COPY.
        bulk = (
            BulkLoad.begin(conn, STAGING, table.name)
            if is_empty(conn, table.name, STAGING)
            else None
        )
        pending = quarantine.Pending(table, run_id)
        # One COPY for the whole load: PostgreSQL stores a chunk while the next is read.
        stream = CopyStream(conn, STAGING, table.name, staging_columns(table))
        with stream:
            read = source.read_for_staging(table, keys, summed)
            for chunk in timer.iterate("extract", read):
                with timer.part("validate"):
                    if isinstance(chunk, pl.DataFrame):  # polars: the rules as expressions
                        reasons = legacy_reasons(chunk, table)  # indexed by row position
                        bad = np.zeros(chunk.height, dtype=bool)
                        bad[reasons.index.to_numpy(dtype=np.int64)] = True
                    else:
                        reasons = failure_reasons(chunk[table.column_names], schema)
                        bad = chunk.index.isin(reasons.index)
                with timer.part("write"):
                    if isinstance(chunk, pl.DataFrame):  # COPY csv written by polars
                        stream.write(
                            chunk.filter(~bad).with_columns(pl.lit(run_id).alias(RUN_COLUMN))
                        )
                        rejected = chunk.filter(bad).to_pandas().set_axis(np.flatnonzero(bad))
                        partitions = chunk[PARTITION_COLUMN].to_pandas()
                        hashes = chunk[HASH_COLUMN].to_pandas()
                    else:
                        stream.write(chunk[~bad].assign(**{RUN_COLUMN: run_id}))
                        rejected = chunk[bad]
                        partitions, hashes = chunk[PARTITION_COLUMN], chunk[HASH_COLUMN]
                pending.add(rejected, reasons, hashes, partitions=partitions, stage="legacy")
                if pending.full:
                    with timer.part("write"):
                        stream.interrupt(pending.write)
                tally.add_read(partitions)
                tally.add_loaded(partitions[~bad])
                tally.add_quarantined(partitions[bad], reasons)
            with timer.part("write"):  # what PostgreSQL still has to store
                stream.close()
        with timer.part("write"):
            pending.write(conn)
        redact_suppressed(conn, table.name)  # GDPR erasures stay erased (issue 16)
        if bulk is not None:
            with timer.part("indexes"):
                bulk.finish(conn)
        # No ANALYZE here: it cost 0.7 s per large table at 1M rows (a statistics sample of
        # every text column) and, measured side by side, did not change the target load that
        # reads the table (with and without statistics alike); autovacuum, where the server
        # runs it, renews them later.
        requested = (
            set(keys) if keys is not None else set() if table.is_partitioned else {UNPARTITIONED}
        )
        result = LoadResult(
            table.name,
            f"{STAGING}.{table.name}",
            "staging",
            tally.counts(requested),
            tally.reason_counts(),
            time.perf_counter() - started,
            parts=dict(timer.seconds),
        )
        accounting.record(conn, result, run_id)
        if summed is not None:
            fingerprints = summed.result(source.strategy.name)
        record_fingerprints(conn, table.name, fingerprints or {}, keys, run_id)
    return result
