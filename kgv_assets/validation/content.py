"""Content: every source row is in the target or the quarantine with exactly its content.

The source partitions are read again (``LegacySourceResource.read_batches``, Arrow-native) with
each row's content hash — the very hash staging recorded, which the target carries in
``legacy_hash`` and the quarantine in ``row_hash``. Both sides are first compared per
partition by aggregates: the row count and the sums of the high and low 32 bits of the row
hashes, computed by polars on the source side and by PostgreSQL on the other (one query over
target and quarantine: three numbers per partition leave the database). Only the partitions
whose aggregates differ are compared row by row, as multisets of (partition, legacy key, row
hash), which names what differs:

- missing: a source row with no loaded or quarantined row of the same key and content;
- extra: a loaded or quarantined row the source does not have (any more);
- changed: a key on both lists (its content differs, or it moved to another partition).

A partition passes the aggregate comparison with rows that differ only if the hash
differences of all of them cancel in both sums and the counts agree; for one changed row that
takes a 64-bit hash collision (the argument of ``kgv_assets.legacy.fingerprint``). Tables
without a legacy key (Bezirke_Katasterbezirke) are compared by content alone: a changed row
counts as one missing and one extra, and examples are shown as row hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl
import psycopg
from psycopg import sql

from kgv_assets.layout import HASH_COLUMN, LEGACY_HASH, PARTITION_COLUMN, TARGET, TARGET_PARTITION
from kgv_assets.legacy.catalogue import Table
from kgv_assets.partitions import sort_partition_keys
from kgv_assets.validation.outcome import Outcome, percent, sample

PARTITION = "partition"
KEY = "key"
HASH = "row_hash"
_FRAME = [PARTITION, KEY, HASH]
_SCHEMA = {PARTITION: pl.String, KEY: pl.String, HASH: pl.Int64}
_AGGREGATES = ["rows", "high", "low"]


@dataclass(frozen=True)
class ContentSpec:
    """How the rows of one legacy table are found again in its target table.

    Attributes:
        source: The legacy table.
        target: The ``kgv`` table it loads into.
        target_key: The target column that holds the legacy key (``id``); None where the
            legacy table has no key, so rows are compared by content alone.
    """

    source: Table
    target: str
    target_key: str | None

    @property
    def lower_keys(self) -> bool:
        """Whether keys compare case-insensitively (uuids; the target stores them lower-case)."""
        key = self.source.key_column
        return key is not None and self.source.column(key).kind == "uid"


def source_hashes(spec: ContentSpec, batches: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """The hash frame of the source rows: partition, normalised legacy key, row hash."""
    key = spec.source.key_column if spec.target_key else None
    frames = []
    for batch in batches:
        keys = pl.col(key).fill_null("") if key else pl.lit("")
        if spec.lower_keys and key:
            keys = keys.str.to_lowercase()
        frames.append(
            batch.select(
                pl.col(PARTITION_COLUMN).alias(PARTITION),
                keys.alias(KEY),
                pl.col(HASH_COLUMN).alias(HASH),
            )
        )
    return pl.concat(frames).cast(_SCHEMA) if frames else pl.DataFrame(schema=_SCHEMA)  # type: ignore[arg-type]


def aggregates(hashes: pl.DataFrame) -> pl.DataFrame:
    """Per partition: rows, and the sums of the high and low 32-bit halves of the row hashes."""
    return hashes.group_by(PARTITION).agg(
        pl.len().cast(pl.Int64).alias("rows"),
        pl.col(HASH).floordiv(2**32).sum().alias("high"),
        (pl.col(HASH) & 0xFFFFFFFF).sum().alias("low"),
    )


def _loaded_rows(spec: ContentSpec, partitions: Sequence[str] | None) -> sql.Composed:
    """Target rows plus quarantined rows of the partitions: partition, key, row hash."""
    key_expr = (
        sql.SQL("t.{}::text").format(sql.Identifier(spec.target_key))
        if spec.target_key
        else sql.SQL("''")
    )
    quarantine_key = sql.SQL("coalesce(r.source_key, '')") if spec.target_key else sql.SQL("''")
    if spec.lower_keys:
        key_expr = sql.SQL("lower({})").format(key_expr)
        quarantine_key = sql.SQL("lower({})").format(quarantine_key)
    target_scope = quarantine_scope = sql.SQL("TRUE")
    if partitions is not None:
        target_scope = sql.SQL("t.{} = ANY(%(p)s)").format(sql.Identifier(TARGET_PARTITION))
        quarantine_scope = sql.SQL("r.partition = ANY(%(p)s)")
    return sql.SQL(
        "SELECT t.{part} AS partition, {key} AS key, t.{hash} AS row_hash FROM {target} t"
        " WHERE {target_scope}"
        " UNION ALL"
        " SELECT r.partition, {qkey}, r.row_hash FROM migration.rejected_rows r"
        " WHERE r.source_table = %(source)s AND {quarantine_scope}"
    ).format(
        part=sql.Identifier(TARGET_PARTITION),
        key=key_expr,
        hash=sql.Identifier(LEGACY_HASH),
        target=sql.Identifier(TARGET, spec.target),
        target_scope=target_scope,
        qkey=quarantine_key,
        quarantine_scope=quarantine_scope,
    )


def _params(spec: ContentSpec, partitions: Sequence[str] | None) -> dict[str, object]:
    return {"source": spec.source.name, "p": list(partitions or [])}


def loaded_aggregates(
    conn: psycopg.Connection, spec: ContentSpec, partitions: Sequence[str] | None
) -> pl.DataFrame:
    """``aggregates`` of what the migration holds (target + quarantine), by PostgreSQL."""
    query = sql.SQL(
        "SELECT partition, count(*), coalesce(sum(row_hash >> 32), 0)::bigint,"
        " coalesce(sum(row_hash & 4294967295), 0)::bigint FROM ({rows}) loaded GROUP BY 1"
    ).format(rows=_loaded_rows(spec, partitions))
    rows = conn.execute(query, _params(spec, partitions)).fetchall()
    schema = {PARTITION: pl.String, "rows": pl.Int64, "high": pl.Int64, "low": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def loaded_hashes(
    conn: psycopg.Connection, spec: ContentSpec, partitions: Sequence[str] | None
) -> pl.DataFrame:
    """The hash frame of what the migration holds: target rows plus quarantined rows."""
    rows = conn.execute(_loaded_rows(spec, partitions), _params(spec, partitions)).fetchall()
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


def differing_partitions(source: pl.DataFrame, loaded: pl.DataFrame) -> list[str]:
    """Partitions whose aggregates differ between ``source`` hashes and ``loaded`` aggregates."""
    joined = aggregates(source).join(loaded, on=PARTITION, how="full", coalesce=True, suffix="_l")
    differs = pl.any_horizontal(
        pl.col(c).fill_null(0) != pl.col(f"{c}_l").fill_null(0) for c in _AGGREGATES
    )
    return sorted(joined.filter(differs)[PARTITION].to_list())


def matches_source(
    conn: psycopg.Connection,
    spec: ContentSpec,
    source: pl.DataFrame,
    partitions: Sequence[str] | None,
) -> Outcome:
    """Aggregates first, rows only where a partition differs (see the module docstring).

    Args:
        conn: A connection to the target database.
        spec: The table's content spec.
        source: ``source_hashes`` of the partitions checked.
        partitions: The partitions checked; None for all.
    """
    loaded = loaded_aggregates(conn, spec, partitions)
    differing = differing_partitions(source, loaded)
    held = loaded_hashes(conn, spec, differing) if differing else pl.DataFrame(schema=_SCHEMA)
    drilled = source.filter(pl.col(PARTITION).is_in(differing))
    found = differences(drilled, held, keyed=spec.target_key is not None)
    counts = (
        aggregates(source)
        .select(PARTITION, pl.col("rows").alias("source_rows"))
        .join(
            loaded.select(PARTITION, pl.col("rows").alias("loaded_or_quarantined")),
            on=PARTITION,
            how="full",
            coalesce=True,
        )
    )
    return _outcome(counts, found, keyed=spec.target_key is not None)


@dataclass(frozen=True)
class Differences:
    """Rows on one side only, as (partition, key, row hash, rows) frames."""

    missing: pl.DataFrame
    changed: pl.DataFrame
    extra: pl.DataFrame

    def named(self) -> list[tuple[str, pl.DataFrame]]:
        """The three frames with their names."""
        return [("missing", self.missing), ("changed", self.changed), ("extra", self.extra)]


def differences(source: pl.DataFrame, loaded: pl.DataFrame, *, keyed: bool) -> Differences:
    """Two hash frames compared as multisets: missing, changed and extra rows."""
    counts = (
        source.group_by(_FRAME)
        .len("source")
        .join(loaded.group_by(_FRAME).len("loaded"), on=_FRAME, how="full", coalesce=True)
        .with_columns(
            (
                pl.col("source").fill_null(0).cast(pl.Int64)
                - pl.col("loaded").fill_null(0).cast(pl.Int64)
            ).alias("diff")
        )
    )
    missing = counts.filter(pl.col("diff") > 0).select(*_FRAME, pl.col("diff").alias("rows"))
    extra = counts.filter(pl.col("diff") < 0).select(*_FRAME, (-pl.col("diff")).alias("rows"))
    both = set(missing[KEY].to_list()) & set(extra[KEY].to_list()) - {""} if keyed else set()
    moved = pl.col(KEY).is_in(sorted(both))
    return Differences(missing.filter(~moved), missing.filter(moved), extra.filter(~moved))


def _outcome(counts: pl.DataFrame, found: Differences, *, keyed: bool) -> Outcome:
    per_partition = counts
    for name, frame in found.named():
        per_partition = per_partition.join(
            frame.group_by(PARTITION).agg(pl.col("rows").sum().alias(name)),
            on=PARTITION,
            how="left",
        )
    table = per_partition.to_pandas().set_index(PARTITION).fillna(0).astype("int64")
    table = table.reindex(sort_partition_keys([str(p) for p in table.index]))
    table = table.rename_axis(PARTITION).reset_index()
    n_source = int(table["source_rows"].sum())
    n_loaded = int(table["loaded_or_quarantined"].sum())
    n_missing, n_changed, n_extra = (int(f["rows"].sum()) for _, f in found.named())
    matching = n_source - n_missing - n_changed
    passed = n_missing == n_changed == n_extra == 0
    figures: dict[str, int | float] = {
        "source_rows": n_source,
        "loaded_or_quarantined_rows": n_loaded,
        "rows_matching": matching,
        "rows_missing": n_missing,
        "rows_changed": n_changed,
        "rows_extra": n_extra,
        "matching_percent": percent(matching, n_source),
    }
    samples = {name: _examples(frame, keyed) for name, frame in found.named() if len(frame)}
    if passed:
        summary = (
            f"All {n_source} source rows are loaded or quarantined with the same content hash."
        )
    else:
        summary = (
            f"{n_missing} source rows missing, {n_changed} changed, {n_extra} extra"
            f" ({percent(matching, n_source)}% of {n_source} source rows match)."
        )
    return Outcome(passed, "ERROR", summary, figures, {"per_partition": table}, samples)


def _examples(frame: pl.DataFrame, keyed: bool) -> list[str]:
    ordered = frame.sort(KEY, HASH)
    if keyed:
        return sample(ordered[KEY].to_list())
    hashes = ordered[HASH].cast(pl.UInt64, wrap_numerical=True)
    return sample(f"row hash {h:016x}" for h in hashes.to_list())
