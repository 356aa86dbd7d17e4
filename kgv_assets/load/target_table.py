"""Load one target table from staging: convert, validate, quarantine, merge, account.

For the partitions being loaded, the staged rows are read in chunks through a server-side
cursor. PostgreSQL ranks rows that share a key across the whole staging table (so a duplicate
in another partition is seen too): the first by (partition, content hash) is kept, an exact
copy is quarantined as ``duplicate``, a different row with the same key as ``conflicting
duplicate``. The table's own transformation then converts the rest and may reject rows (for
example orphans); the target pandera schema catches what would break a domain or constraint,
with every reason (lazy validation). Survivors are merged into the target (see
``kgv_assets.load.writer``) and the reconciliation row proves source = loaded + quarantined per
partition. A load of some partitions also reloads the partitions that share keys with them (a
row that moved to another year, duplicates): ``partitions_sharing_keys``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.layout import (
    HASH_COLUMN,
    LEGACY_HASH,
    PARTITION_COLUMN,
    TARGET_BOOKKEEPING,
    TARGET_PARTITION,
    staged,
)
from kgv_assets.legacy.catalogue import Table
from kgv_assets.load import accounting, quarantine
from kgv_assets.load.accounting import LoadResult, StageTimer, Tally
from kgv_assets.load.writer import MergeWriter
from kgv_assets.sync import dependencies
from kgv_assets.transform.tables.mapping import TableLoader
from kgv_assets.validation.reasons import failure_reasons

# Staged rows per chunk of a target load. A chunk lives as pandas and polars columns of Python
# strings a few times over while it is converted; at 25,000 rows a full migration at 1M rows
# peaked at 886 MiB against 995 MiB with 50,000 (measured side by side, scale 4.5).
CHUNK_ROWS = 25_000


def _staging_query(
    source: Table,
    key: Sequence[str],
    lookups: dict[str, sql.Composable],
    keys: Sequence[str] | None,
) -> tuple[sql.Composed, list[object]]:
    columns = sql.SQL(", ").join(
        sql.SQL("s.{c}::text AS {c}").format(c=sql.Identifier(c)) for c in source.column_names
    )
    extra = sql.SQL("").join(
        sql.SQL(", {} AS {}").format(expr, sql.Identifier(name)) for name, expr in lookups.items()
    )
    key_cols = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(k)) for k in key)
    order = sql.SQL("s.{p}, s.{h}").format(
        p=sql.Identifier(PARTITION_COLUMN), h=sql.Identifier(HASH_COLUMN)
    )
    rows = staged(source.name)
    # The rows come in the window's order (by key): nothing downstream needs them by partition,
    # and sorting the whole result again by partition cost a third of the ranking query
    # (history at 1M rows: 0.9 of 2.6 s); the COPY into the yearly history partitions was as
    # fast without it (measured side by side).
    scope = sql.SQL("")
    params: list[object] = []
    if keys is not None:
        # Rank against every staged row with a key that these partitions hold.
        scope = sql.SQL(
            "WHERE ({key_cols}) IN (SELECT {key_cols} FROM {staged} s WHERE s.{p} = ANY(%s))"
        ).format(key_cols=key_cols, staged=rows, p=sql.Identifier(PARTITION_COLUMN))
        params.append(list(keys))
    query = sql.SQL(
        "SELECT * FROM (SELECT {columns}, s.{p} AS {p}, s.{h} AS {h}, "
        "row_number() OVER w AS _dup_rank, first_value(s.{h}) OVER w AS _first_hash{extra} "
        "FROM {staged} s {scope} WINDOW w AS (PARTITION BY {key_cols} ORDER BY {order})) ranked"
        "{filter}"
    ).format(
        columns=columns,
        p=sql.Identifier(PARTITION_COLUMN),
        h=sql.Identifier(HASH_COLUMN),
        extra=extra,
        staged=rows,
        scope=scope,
        key_cols=key_cols,
        order=order,
        filter=sql.SQL(" WHERE {} = ANY(%s)").format(sql.Identifier(PARTITION_COLUMN))
        if keys is not None
        else sql.SQL(""),
    )
    if keys is not None:
        params.append(list(keys))
    return query, params


def _read(
    conn: psycopg.Connection, query: sql.Composed, params: list[object]
) -> Iterator[pd.DataFrame]:
    with conn.cursor(name="staged_rows") as cur:
        cur.itersize = CHUNK_ROWS
        cur.execute(query, params)
        yield from _fetch(cur)


def _fetch(cur: psycopg.ServerCursor) -> Iterator[pd.DataFrame]:
    names = [d.name for d in cur.description or []]
    while rows := cur.fetchmany(CHUNK_ROWS):
        yield pd.DataFrame.from_records(rows, columns=names, coerce_float=False)


@contextmanager
def _held(
    reader: psycopg.Connection, query: sql.Composed, params: list[object]
) -> Iterator[Iterator[pd.DataFrame]]:
    """The staged rows through ``reader``, computed before the load takes its locks.

    The cursor is declared WITH HOLD in a transaction of its own: at its commit PostgreSQL
    runs the query to the end and keeps the result, and the transaction's locks are gone. The
    load's transaction may then lock what the query read (dropping a foreign key locks the
    parent table) without waiting for this reader, which it never could.
    """
    with reader.cursor(name="staged_rows_held", withhold=True) as cur:
        with reader.transaction():
            reader.execute("SET LOCAL jit = off")
            reader.execute("SET LOCAL work_mem = '128MB'")
            cur.execute(query, params)
        yield _fetch(cur)


def duplicate_reasons(chunk: pd.DataFrame) -> pd.Series:
    """``duplicate`` / ``conflicting duplicate`` for every row that is not the first of its key."""
    later = chunk[chunk["_dup_rank"] > 1]
    exact = later[HASH_COLUMN] == later["_first_hash"]
    return pd.Series(
        [["duplicate"] if e else ["conflicting duplicate"] for e in exact],
        index=later.index,
        dtype=object,
    )


def partitions_sharing_keys(
    conn: psycopg.Connection, loader: TableLoader, keys: Sequence[str] | None
) -> list[str] | None:
    """``keys`` plus every partition holding a row whose key a partition of ``keys`` holds.

    A key's rows are one unit across partitions: a row whose date moved to another year is
    staged in its new partition while its old partition may still be staged (the two
    partitions can run in either order), and duplicates are ranked across partitions. So a
    load of some partitions also reloads the partitions where their keys occur: staged in the
    loaded partitions, or loaded/quarantined under them last time. Loading the two years of a
    moved row in either order then ends with the row once, under its new year.
    """
    source = loader.mapping.legacy
    key_rule = [r for r in loader.mapping.rules if r.target in loader.mapping.key]
    if (
        keys is None
        or source.primary_key is None
        or len(key_rule) != 1
        or key_rule[0].source != source.primary_key
    ):
        return None if keys is None else list(keys)
    query = sql.SQL(
        "SELECT DISTINCT s.{p} FROM {staged} s WHERE s.{p} <> ALL(%(keys)s) AND ("
        " s.{pk} IN (SELECT {pk} FROM {staged} WHERE {p} = ANY(%(keys)s))"
        " OR s.{pk} IN (SELECT {tk} FROM {target} WHERE {tp} = ANY(%(keys)s))"
        " OR s.{pk}::text IN (SELECT source_key FROM migration.rejected_rows"
        "  WHERE source_table = %(table)s AND stage IN ('transform', 'target')"
        "  AND partition = ANY(%(keys)s) AND source_key IS NOT NULL))"
    ).format(
        p=sql.Identifier(PARTITION_COLUMN),
        pk=sql.Identifier(source.primary_key),
        staged=staged(source.name),
        tk=sql.Identifier(key_rule[0].target),
        target=loader.mapping.table.ident,
        tp=sql.Identifier(TARGET_PARTITION),
    )
    found = conn.execute(query, {"keys": list(keys), "table": source.name}).fetchall()
    return sorted({*keys, *(k for (k,) in found)})


def _covers_every_partition(
    conn: psycopg.Connection, source: Table, keys: Sequence[str] | None
) -> bool:
    """Whether a load of ``keys`` covered every partition the staged table has."""
    if keys is None:
        return True
    # Any staged row outside ``keys`` answers it: usually the first row read, where the
    # DISTINCT over the whole staged table read every row.
    outside = conn.execute(
        sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE {} <> ALL(%s))").format(
            staged(source.name), sql.Identifier(PARTITION_COLUMN)
        ),
        (list(keys),),
    ).fetchone()
    return not (outside and outside[0])


@dataclass(frozen=True)
class ConvertedChunk:
    """One chunk of staged rows after conversion and validation.

    Attributes:
        rows: The target rows that load (target columns and bookkeeping).
        rejected: Per stage (``transform``, ``target``), each rejected staged row's reasons.
    """

    rows: pd.DataFrame
    rejected: dict[quarantine.Stage, pd.Series]


def convert_chunk(
    chunk: pd.DataFrame, loader: TableLoader, conn: psycopg.Connection
) -> ConvertedChunk:
    """Rank out duplicates, convert with the table's rules, validate with its target schema."""
    dups = duplicate_reasons(chunk)
    first = chunk.drop(index=dups.index)
    transformed = loader.transform(first, conn)
    rows = transformed.rows.assign(
        **{
            LEGACY_HASH: first.loc[transformed.rows.index, HASH_COLUMN].astype("int64"),
            TARGET_PARTITION: first.loc[transformed.rows.index, PARTITION_COLUMN],
        }
    )
    invalid = failure_reasons(rows, loader.schema)
    return ConvertedChunk(
        rows.drop(index=invalid.index),
        {"transform": pd.concat([dups, transformed.rejected]), "target": invalid},
    )


def load_target_table(
    conn: psycopg.Connection,
    loader: TableLoader,
    partition_keys: Sequence[str] | None,
    run_id: str,
    reader: psycopg.Connection | None = None,
) -> LoadResult:
    """(Re)load the target table of ``loader`` for ``partition_keys`` (None: unpartitioned/all).

    With ``reader`` (a second autocommit connection to the same database) the staged rows are
    read through it and the target rows go into one long COPY on ``conn`` (PostgreSQL stores
    a chunk while the next is converted); without it both share ``conn``, chunk by chunk.
    """
    started = time.perf_counter()
    mapping = loader.mapping
    source = mapping.legacy
    keys = partition_keys if source.is_partitioned else None
    source_key = source.order_by if source.key_column is None else [source.key_column]
    tally = Tally()
    timer = StageTimer()
    with conn.transaction():
        # The ranking query over the whole staging table: JIT compiling it took longer (about
        # 2 s) than running it, and its sorts belong in memory, not in temporary files.
        conn.execute("SET LOCAL jit = off")
        conn.execute("SET LOCAL work_mem = '128MB'")
        keys = partitions_sharing_keys(conn, loader, keys)
        covers_all = _covers_every_partition(conn, source, keys)
        # A load over every partition records what it looks up in parent tables, taken before
        # it reads them (kgv_assets/sync/dependencies.py).
        parents = (
            dependencies.current_fingerprints(conn, loader.looked_up)
            if covers_all and loader.looked_up
            else {}
        )
        quarantine.clear(conn, source, ["transform", "target"], keys)
        loader.prepare(conn)
        # Over every partition the ranking reads the whole staged table anyway: without the
        # scope's semi-join it reads the same rows (1.75 → 1.11 s for the history at 1M rows).
        scope = None if covers_all else keys
        query, params = _staging_query(source, source_key, loader.lookups(), scope)
        with ExitStack() as stack:
            with timer.part("extract"):  # a held cursor runs its query here
                chunks = (
                    stack.enter_context(_held(reader, query, params))
                    if reader is not None
                    else _read(conn, query, params)
                )
            writer = stack.enter_context(
                MergeWriter(
                    conn,
                    mapping.target,
                    [*mapping.target_columns, *TARGET_BOOKKEEPING],
                    mapping.key,
                    stream=reader is not None,
                )
            )
            pending = quarantine.Pending(source, run_id)
            for chunk in timer.iterate("extract", chunks):
                with timer.part("transform"):
                    converted = convert_chunk(chunk, loader, conn)
                with timer.part("write"):
                    writer.add(converted.rows)
                tally.add_loaded(converted.rows[TARGET_PARTITION])
                for stage, reasons in converted.rejected.items():
                    bad = chunk.loc[reasons.index]
                    pending.add(
                        bad,
                        reasons,
                        chunk[HASH_COLUMN],
                        partitions=chunk[PARTITION_COLUMN],
                        stage=stage,
                    )
                    tally.add_quarantined(bad[PARTITION_COLUMN], reasons)
                if pending.full or not writer.stream:
                    with timer.part("write"):
                        writer.interrupt(pending.write)
            with timer.part("write"):
                writer.interrupt(pending.write)
                merged = writer.merge(keys)
            timer.seconds["write"] -= writer.index_seconds
            timer.seconds["indexes"] += writer.index_seconds
        if parents:
            dependencies.record(conn, mapping.target, parents, run_id)
        result = LoadResult(
            source.name,
            mapping.table.qualified,
            "target",
            _reconcile(conn, source, keys, tally),
            tally.reason_counts(),
            time.perf_counter() - started,
            merged,
            dict(timer.seconds),
        )
        accounting.record(conn, result, run_id)
    return result


def _reconcile(
    conn: psycopg.Connection, source: Table, keys: Sequence[str] | None, tally: Tally
) -> dict[str, accounting.PartitionCount]:
    """Per partition: source rows (as staged) = loaded + quarantined at any stage."""
    query = (
        "SELECT partition, source_rows, quarantined_rows FROM migration.reconciliation"
        " WHERE source_table = %s AND stage = 'staging'"
    )
    params: list[object] = [source.name]
    if keys is not None:
        query += " AND partition = ANY(%s)"
        params.append(list(keys))
    return {
        partition: accounting.PartitionCount(
            partition,
            source_rows,
            tally.loaded[partition],
            legacy_rejected + tally.quarantined[partition],
        )
        for partition, source_rows, legacy_rejected in conn.execute(query, params)
    }
