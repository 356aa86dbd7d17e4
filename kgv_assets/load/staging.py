"""Land one legacy table (or some of its partitions) in PostgreSQL schema ``staging``.

Per chunk streamed from the source: hash each row's content, validate the chunk with the
table's legacy pandera schema (lazy), COPY the valid rows into ``staging."<Table>"`` and put the
others into the quarantine with their reasons. The whole load is one transaction: the
partitions' old rows and old quarantine entries are deleted first, so a (re)load is idempotent
and a failed load leaves the previous state untouched. The same transaction records the
source fingerprints of the loaded partitions (``kgv_assets.sync.store``: what incremental sync
compares against).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.legacy.catalogue import Table
from kgv_assets.legacy.extract import PARTITION_COLUMN
from kgv_assets.legacy.schemas import LEGACY_SCHEMAS, failure_reasons
from kgv_assets.load import accounting, quarantine
from kgv_assets.load.target import BulkLoad, is_empty
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import CopyStream, qualified
from kgv_assets.sync.store import record_fingerprints
from kgv_assets.transform.hashing import row_hash

SCHEMA = "staging"
HASH_COLUMN = "_row_hash"
RUN_COLUMN = "_run_id"
ALL = "all"


def staging_columns(table: Table) -> list[str]:
    """The columns of ``staging."<Table>"``: the legacy columns plus bookkeeping."""
    return [*table.column_names, PARTITION_COLUMN, HASH_COLUMN, RUN_COLUMN]


def staging_ddl(table: Table) -> sql.Composed:
    """``CREATE TABLE IF NOT EXISTS staging."<Table>"`` from the catalogue."""
    columns = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(c.name),
            sql.SQL(c.pg_staging_type),
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
        table=qualified(SCHEMA, table.name),
        columns=sql.SQL(", ").join(columns),
        index=sql.Identifier(f"{table.name}_partition"),
        partition=sql.Identifier(PARTITION_COLUMN),
        comment=sql.Literal(f"Legacy dbo.{table.name}, landed losslessly. {table.description}"),
    )


@dataclass
class StageResult:
    """What one staging load did, per partition."""

    table: str
    counts: dict[str, accounting.PartitionCount] = field(default_factory=dict)
    reasons: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    seconds: float = 0.0

    @property
    def source_rows(self) -> int:
        """Rows read from the source."""
        return sum(c.source_rows for c in self.counts.values())

    @property
    def staged_rows(self) -> int:
        """Rows landed in staging."""
        return sum(c.loaded_rows for c in self.counts.values())

    @property
    def quarantined_rows(self) -> int:
        """Rows put into the quarantine."""
        return sum(c.quarantined_rows for c in self.counts.values())


def _clear(conn: psycopg.Connection, table: Table, partition_keys: Sequence[str] | None) -> None:
    target = qualified(SCHEMA, table.name)
    if partition_keys is None:
        conn.execute(sql.SQL("TRUNCATE {}").format(target))
    else:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                target, sql.Identifier(PARTITION_COLUMN)
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
) -> StageResult:
    """(Re)load ``table`` — all of it, or only ``partition_keys`` — into staging.

    Args:
        source: The legacy source to stream from.
        conn: An autocommit connection to the target PostgreSQL; the load runs in one
            transaction on it.
        table: The legacy table.
        partition_keys: The partitions to (re)load; None for an unpartitioned table or all.
        run_id: The Dagster run, recorded on every staged and quarantined row.
    """
    started = time.perf_counter()
    keys = partition_keys if table.is_partitioned else None
    result = StageResult(table.name)
    read: dict[str, int] = {}
    loaded: dict[str, int] = {}
    rejected: dict[str, int] = {}
    reason_counts: list[pd.Series] = []
    schema = LEGACY_SCHEMAS[table.name]
    # Taken before the read: a change made during the read is seen by the next comparison.
    fingerprints = source.fingerprints(table)
    with conn.transaction():
        conn.execute(staging_ddl(table))
        _clear(conn, table, keys)
        # Into an empty table (the first load), the partition index is built after the COPY.
        bulk = (
            BulkLoad.begin(conn, SCHEMA, table.name) if is_empty(conn, table.name, SCHEMA) else None
        )
        pending = quarantine.Pending(table, run_id)
        # One COPY for the whole load: PostgreSQL stores a chunk while the next is read.
        with CopyStream(conn, SCHEMA, table.name, staging_columns(table)) as stream:
            for chunk in source.read_chunks(table, keys):
                hashes = row_hash(chunk, table.column_names)
                reasons = failure_reasons(chunk[table.column_names], schema)
                bad = chunk.index.isin(reasons.index)
                good = chunk[~bad].assign(**{HASH_COLUMN: hashes[~bad], RUN_COLUMN: run_id})
                stream.write(good)
                pending.add(
                    chunk[bad],
                    reasons,
                    hashes,
                    partitions=chunk[PARTITION_COLUMN],
                    stage="legacy",
                )
                if pending.full:
                    stream.interrupt(pending.write)
                _add(read, chunk[PARTITION_COLUMN].value_counts())
                _add(loaded, good[PARTITION_COLUMN].value_counts())
                _add(rejected, chunk.loc[bad, PARTITION_COLUMN].value_counts())
                if len(reasons):
                    reason_counts.append(reasons.explode().value_counts())
        pending.write(conn)
        requested = set(keys) if keys is not None else set() if table.is_partitioned else {ALL}
        for key in sorted(set(read) | requested):
            result.counts[key] = accounting.PartitionCount(
                key, read.get(key, 0), loaded.get(key, 0), rejected.get(key, 0)
            )
        if bulk is not None:
            bulk.finish(conn)
        # Statistics for the target load's ranking query (a fresh table has none).
        conn.execute(sql.SQL("ANALYZE {}").format(qualified(SCHEMA, table.name)))
        result.seconds = time.perf_counter() - started
        accounting.record(
            conn,
            source_table=table.name,
            target_table=f"{SCHEMA}.{table.name}",
            stage="staging",
            counts=result.counts.values(),
            seconds=result.seconds,
            run_id=run_id,
        )
        record_fingerprints(conn, table.name, fingerprints, keys, run_id)
    if reason_counts:
        result.reasons = pd.concat(reason_counts).groupby(level=0).sum().sort_values()
    return result


def _add(total: dict[str, int], counts: pd.Series) -> None:
    for key, n in counts.items():
        total[str(key)] = total.get(str(key), 0) + int(n)
