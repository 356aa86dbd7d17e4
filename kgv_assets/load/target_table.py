"""Load one target table from staging: convert, validate, quarantine, merge, account.

For the partitions being loaded, the staged rows are read in chunks through a server-side
cursor. PostgreSQL ranks rows that share a key across the whole staging table (so a duplicate
in another partition is seen too): the first by (partition, content hash) is kept, an exact
copy is quarantined as ``duplicate``, a different row with the same key as ``conflicting
duplicate``. The table's own transformation then converts the rest and may reject rows (for
example orphans); the target pandera schema catches what would break a domain or constraint,
with every reason (lazy validation). Survivors are merged into the target (see
``load.target``) and the reconciliation row proves source = loaded + quarantined per partition.
A load of some partitions also reloads the partitions that share keys with them (a row that
moved to another year, duplicates): ``partitions_sharing_keys``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.legacy.catalogue import Table, table
from kgv_assets.legacy.extract import PARTITION_COLUMN
from kgv_assets.legacy.schemas import failure_reasons
from kgv_assets.load import accounting, quarantine
from kgv_assets.load.staging import HASH_COLUMN
from kgv_assets.load.staging import SCHEMA as STAGING
from kgv_assets.load.target import PARTITION, TargetWriter
from kgv_assets.sync import dependencies
from kgv_assets.transform.tables.mapping import TableLoader

CHUNK_ROWS = 50_000
BOOKKEEPING = ["legacy", "legacy_hash", PARTITION]


@dataclass
class TargetLoadResult:
    """What one target load did."""

    source_table: str
    target_table: str
    counts: dict[str, accounting.PartitionCount]
    reasons: pd.Series
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    seconds: float = 0.0

    @property
    def source_rows(self) -> int:
        """Legacy rows of the loaded partitions."""
        return sum(c.source_rows for c in self.counts.values())

    @property
    def loaded_rows(self) -> int:
        """Rows now in the target for these partitions."""
        return sum(c.loaded_rows for c in self.counts.values())

    @property
    def quarantined_rows(self) -> int:
        """Rows quarantined at any stage for these partitions."""
        return sum(c.quarantined_rows for c in self.counts.values())


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
    staged = sql.Identifier(STAGING, source.name)
    scope = sql.SQL("")
    params: list[object] = []
    if keys is not None:
        # Rank against every staged row with a key that these partitions hold.
        scope = sql.SQL(
            "WHERE ({key_cols}) IN (SELECT {key_cols} FROM {staged} s WHERE s.{p} = ANY(%s))"
        ).format(key_cols=key_cols, staged=staged, p=sql.Identifier(PARTITION_COLUMN))
        params.append(list(keys))
    query = sql.SQL(
        "SELECT * FROM (SELECT {columns}, s.{p} AS {p}, s.{h} AS {h}, "
        "row_number() OVER w AS _dup_rank, first_value(s.{h}) OVER w AS _first_hash{extra} "
        "FROM {staged} s {scope} WINDOW w AS (PARTITION BY {key_cols} ORDER BY {order})) ranked"
        "{filter} ORDER BY {p}"
    ).format(
        columns=columns,
        p=sql.Identifier(PARTITION_COLUMN),
        h=sql.Identifier(HASH_COLUMN),
        extra=extra,
        staged=staged,
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
    source = table(loader.mapping.source)
    key_rule = [r for r in loader.mapping.rules if r.target in loader.mapping.key]
    if (
        keys is None
        or source.primary_key is None
        or len(key_rule) != 1
        or key_rule[0].source != source.primary_key
    ):
        return None if keys is None else list(keys)
    staged = sql.Identifier(STAGING, source.name)
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
        staged=staged,
        tk=sql.Identifier(key_rule[0].target),
        target=sql.Identifier("kgv", loader.mapping.target),
        tp=sql.Identifier(PARTITION),
    )
    found = conn.execute(query, {"keys": list(keys), "table": source.name}).fetchall()
    return sorted({*keys, *(k for (k,) in found)})


def _covers_every_partition(
    conn: psycopg.Connection, source: Table, keys: Sequence[str] | None
) -> bool:
    """Whether a load of ``keys`` covered every partition the staged table has."""
    if keys is None:
        return True
    staged = conn.execute(
        sql.SQL("SELECT DISTINCT {} FROM {}").format(
            sql.Identifier(PARTITION_COLUMN), sql.Identifier(STAGING, source.name)
        )
    ).fetchall()
    return {row[0] for row in staged} <= set(keys)


def load_target_table(
    conn: psycopg.Connection,
    loader: TableLoader,
    partition_keys: Sequence[str] | None,
    run_id: str,
    reader: psycopg.Connection | None = None,
) -> TargetLoadResult:
    """(Re)load the target table of ``loader`` for ``partition_keys`` (None: unpartitioned/all).

    With ``reader`` (a second autocommit connection to the same database) the staged rows are
    read through it and the target rows go into one long COPY on ``conn`` (PostgreSQL stores
    a chunk while the next is converted); without it both share ``conn``, chunk by chunk.
    """
    started = time.perf_counter()
    mapping = loader.mapping
    source = table(mapping.source)
    keys = partition_keys if source.is_partitioned else None
    source_key = source.order_by if source.key_column is None else [source.key_column]
    columns = [*mapping.target_columns, *BOOKKEEPING]
    loaded: dict[str, int] = {}
    rejected: dict[str, int] = {}
    reason_counts: list[pd.Series] = []
    with conn.transaction():
        # The ranking query over the whole staging table: JIT compiling it took longer (about
        # 2 s) than running it, and its sorts belong in memory, not in temporary files.
        conn.execute("SET LOCAL jit = off")
        conn.execute("SET LOCAL work_mem = '128MB'")
        keys = partitions_sharing_keys(conn, loader, keys)
        # A load over every partition records what it looks up in parent tables, taken before
        # it reads them (kgv_assets/sync/dependencies.py).
        covers_all = bool(loader.looked_up) and _covers_every_partition(conn, source, keys)
        parents = dependencies.current_fingerprints(conn, loader.looked_up) if covers_all else {}
        quarantine.clear(conn, source, ["transform", "target"], keys)
        loader.prepare(conn)
        query, params = _staging_query(source, source_key, loader.lookups(), keys)
        with ExitStack() as stack:
            chunks = (
                stack.enter_context(_held(reader, query, params))
                if reader is not None
                else _read(conn, query, params)
            )
            writer = stack.enter_context(
                TargetWriter(conn, mapping.target, columns, mapping.key, stream=reader is not None)
            )
            pending = quarantine.Pending(source, run_id)
            for chunk in chunks:
                dups = duplicate_reasons(chunk)
                first = chunk.drop(index=dups.index)
                transformed = loader.transform(first, conn)
                rows = transformed.rows
                rows = rows.assign(
                    legacy_hash=first.loc[rows.index, HASH_COLUMN].astype("int64"),
                    **{PARTITION: first.loc[rows.index, PARTITION_COLUMN]},
                )
                invalid = failure_reasons(rows, loader.schema)
                good = rows.drop(index=invalid.index)
                writer.add(good)
                for stage, reasons in (
                    ("transform", pd.concat([dups, transformed.rejected])),
                    ("target", invalid),
                ):
                    bad = chunk.loc[reasons.index]
                    pending.add(
                        bad,
                        reasons,
                        chunk[HASH_COLUMN],
                        partitions=chunk[PARTITION_COLUMN],
                        stage=stage,  # type: ignore[arg-type]
                    )
                    _add(rejected, bad[PARTITION_COLUMN].value_counts())
                    if len(reasons):
                        reason_counts.append(reasons.explode().value_counts())
                _add(loaded, good[PARTITION].value_counts())
                if pending.full or not writer.stream:
                    writer.interrupt(pending.write)
            writer.interrupt(pending.write)
            merged = writer.merge(keys)
        counts = _reconcile(conn, source, keys, loaded, rejected)
        if parents:
            dependencies.record(conn, mapping.target, parents, run_id)
        seconds = time.perf_counter() - started
        accounting.record(
            conn,
            source_table=source.name,
            target_table=f"kgv.{mapping.target}",
            stage="target",
            counts=counts.values(),
            seconds=seconds,
            run_id=run_id,
        )
    reasons = (
        pd.concat(reason_counts).groupby(level=0).sum().sort_values()
        if reason_counts
        else pd.Series(dtype="int64")
    )
    return TargetLoadResult(
        source.name,
        f"kgv.{mapping.target}",
        counts,
        reasons,
        merged.inserted,
        merged.updated,
        merged.deleted,
        seconds,
    )


def _reconcile(
    conn: psycopg.Connection,
    source: Table,
    keys: Sequence[str] | None,
    loaded: dict[str, int],
    rejected: dict[str, int],
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
    counts = {}
    for partition, source_rows, legacy_rejected in conn.execute(query, params):
        counts[partition] = accounting.PartitionCount(
            partition,
            source_rows,
            loaded.get(partition, 0),
            legacy_rejected + rejected.get(partition, 0),
        )
    return counts


def _add(total: dict[str, int], counts: pd.Series) -> None:
    for key, n in counts.items():
        total[str(key)] = total.get(str(key), 0) + int(n)
