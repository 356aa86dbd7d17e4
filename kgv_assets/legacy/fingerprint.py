"""Partition fingerprints, computed by the legacy source: row count and content checksum.

The legacy tables have no rowversion, no modified-date column and no triggers, so changes are
detected from the data alone. One aggregate query per table returns, for every partition (the
partition rule of ``kgv_assets.partitions``), the number of rows and two sums over a 64-bit hash
of each row's content. Nothing but these three numbers per partition leaves the server.

**Row hash.** The row's values in the extractor's canonical text form (``canonical_text``),
each prefixed with its length (``<bytes>:<text>``, a NULL as the bare ``:``), so the encoding is
injective: a value moving to the neighbouring column, a NULL becoming an empty string or a
trailing space all change it.

- SQL Server: ``HASHBYTES`` over the encoded row, as the server's version allows
  (``kgv_assets.legacy.dialects``: SHA-256 from 2012, SHA-1 in pieces of at most 8,000 bytes on
  2005/2008, hashed by the client on 2000); its first 8 bytes are the row hash.
- SQLite (the demo): no hash function in SQL, and a Python function called per row cost more
  than the whole partition read. The rows' stored bytes are read Arrow-natively instead
  (``kgv_assets.resources.batches``) and hashed by polars in Rust (``hash_rows`` with its own
  seed, ``SQLITE_SEED``): no Python object per value, and not the content hash the checks
  compare, so a collision of one is not also one of the other. Polars keeps that hash stable
  within one of its versions only; the strategy's name carries the version
  (``kgv_assets.legacy.dialects``), so after an upgrade the fingerprints re-baseline once
  (``kgv_assets.sync.changes``), as after a server upgrade.

**Aggregate.** The 64-bit row hash is split into its high and low 32-bit halves, and each half
is summed per partition (``SUM`` of 32-bit values cannot overflow a bigint below 2^31 rows). A
sum, unlike the XOR of ``CHECKSUM_AGG``, counts duplicates: two identical rows inserted
change it. A change goes unnoticed only if the hash differences of all changed rows cancel in
both halves and the row count stays the same — for a single changed row, only if its new
content has the same 64-bit SHA-256 prefix or SipHash value as the old one (probability 2^-64).

**Why not CHECKSUM_AGG(BINARY_CHECKSUM(*))**: cheaper, but BINARY_CHECKSUM is a 32-bit
rotate-and-XOR that the documentation itself says misses some changes (strings differing in
characters 16 positions apart can collide), CHECKSUM follows the collation (a case-only change
is invisible under a case-insensitive collation), and the XOR of CHECKSUM_AGG cancels pairs: a
duplicated pair of rows, or two rows swapping contents, is invisible. HASHBYTES costs one
SHA-256 per row on the server (about a second per million rows) and is worth it.

Fingerprints are only ever compared with fingerprints of the same strategy (each hashes a
different byte form; ``Fingerprint.strategy``), and they are a change *detector*: the weekly
content validation compares the loaded rows themselves and catches what a collision could hide.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from kgv_assets.layout import PARTITION_COLUMN
from kgv_assets.legacy.catalogue import Table
from kgv_assets.legacy.dialects import MSSQL_2016, Strategy, client_field, row_hash_sql
from kgv_assets.legacy.extract import canonical_text, partition_key_of, source_table

SQLITE_SEED = 0x6B67765F6670
"""The seed of SQLite's row hash (polars' ``hash_rows``; the content hash is SipHash)."""
_HASH = "_row_hash"
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")


@dataclass(frozen=True)
class Fingerprint:
    """One partition's fingerprint: its row count, the two checksum halves, and its strategy.

    Two fingerprints of different strategies are never equal (they hash different bytes).
    """

    rows: int
    high: int
    low: int
    strategy: str | None = None
    """``kgv_assets.legacy.dialects.Strategy.name``; None: recorded before strategies were."""

    def as_list(self) -> list[int]:
        """The compact JSON form ``[rows, high, low]``."""
        return [self.rows, self.high, self.low]

    @classmethod
    def from_list(cls, values: list[int], strategy: str | None = None) -> Fingerprint:
        """Inverse of ``as_list``."""
        rows, high, low = values
        return cls(int(rows), int(high), int(low), strategy)


class FingerprintSums:
    """Fingerprints summed batch by batch from row hashes computed by the client (SQLite).

    Each batch is (partition keys, signed 64-bit row hashes). The aggregate is the servers'
    (``SUM`` of the signed high and low 32-bit halves), computed by polars per batch.
    """

    def __init__(self) -> None:
        """No rows yet."""
        self._sums: dict[str, list[int]] = {}

    def add(self, partitions: pl.Series, hashes: np.ndarray) -> None:
        """Add one batch's rows."""
        frame = pl.DataFrame({"p": partitions, "h": pl.Series(hashes, dtype=pl.Int64)})
        low = pl.col("h") & 0xFFFFFFFF
        per_partition = frame.group_by("p").agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("h").floordiv(2**32).sum().alias("high"),
            pl.when(low >= 2**31).then(low - 2**32).otherwise(low).sum().alias("low"),
        )
        for key, n, high, low_sum in per_partition.iter_rows():
            counts = self._sums.setdefault(str(key), [0, 0, 0])
            counts[0] += n
            counts[1] += high
            counts[2] += low_sum

    def result(self, strategy: str) -> dict[str, Fingerprint]:
        """The fingerprint of every partition seen so far."""
        return {k: Fingerprint(n, hi, lo, strategy) for k, (n, hi, lo) in self._sums.items()}


def aggregate_row_hashes(
    batches: Iterable[tuple[pl.Series, np.ndarray]], strategy: str
) -> dict[str, Fingerprint]:
    """Fingerprints of row hashes computed by the client, per partition (see FingerprintSums)."""
    sums = FingerprintSums()
    for partitions, hashes in batches:
        sums.add(partitions, hashes)
    return sums.result(strategy)


class _RowHash(FunctionElement[Any]):
    """The hash of a row over its canonical column texts (see the module docstring)."""

    type = sa.LargeBinary()
    # The strategy and the table are attributes, not clauses: never share a compiled form.
    inherit_cache = False

    def __init__(
        self, table: Table, strategy: Strategy, budget: int | None, *texts: ColumnElement[Any]
    ) -> None:
        self.table = table
        self.strategy = strategy
        self.budget = budget
        super().__init__(*texts)


class _HashHalf(FunctionElement[Any]):
    """The high (first) or low (second) 32-bit half of a row hash, as a signed integer."""

    type = sa.BigInteger()
    inherit_cache = True

    def __init__(self, row_hash: ColumnElement[Any], half: int) -> None:
        self.half = half
        super().__init__(row_hash, sa.literal_column(str(half)))


@compiles(_RowHash)
def _row_hash_default(element: _RowHash, compiler: Any, **kw: Any) -> str:
    raise NotImplementedError(f"no row hash for the {compiler.dialect.name} dialect")


@compiles(_RowHash, "mssql")
def _row_hash_mssql(element: _RowHash, compiler: Any, **kw: Any) -> str:
    values = [compiler.process(text, **kw) for text in element.clauses]
    return row_hash_sql(element.strategy, list(element.table.columns), values, element.budget)


@compiles(_HashHalf, "mssql")
def _half_mssql(element: _HashHalf, compiler: Any, **kw: Any) -> str:
    value = compiler.process(next(iter(element.clauses)), **kw)
    start = 1 if element.half == 1 else 5
    return f"CAST(CAST(SUBSTRING({value}, {start}, 4) AS INT) AS BIGINT)"


def fingerprint_query(
    table: Table,
    schema: str | None = None,
    strategy: Strategy = MSSQL_2016,
    budget: int | None = None,
    partition_keys: Sequence[str] | None = None,
) -> sa.Select[Any]:
    """SQL Server's aggregate query: per ``_partition``, ``row_count``, ``checksum_high/_low``.

    Args:
        table: The legacy table.
        schema: The source schema (``dbo``).
        strategy: The server's strategy (``kgv_assets.legacy.dialects``).
        budget: Bytes per hashed piece, default the strategy's limit (tests pass smaller ones).
        partition_keys: Only these partitions (what a staging load reads); None: all. The
            rows of other partitions are filtered out before they are hashed.
    """
    src = source_table(table, schema)
    texts = [canonical_text(src.c[c.name], c.kind) for c in table.columns]
    partition = partition_key_of(table, src)
    per_row = sa.select(
        partition.label(PARTITION_COLUMN),
        _RowHash(table, strategy, budget, *texts).label(_HASH),
    ).select_from(src)
    if partition_keys is not None and table.is_partitioned:
        per_row = per_row.where(partition.in_(list(partition_keys)))
    per_row = per_row.subquery("fingerprinted")
    key = per_row.c[PARTITION_COLUMN]
    row_hash = per_row.c[_HASH]
    return sa.select(
        key,
        sa.func.count().label("row_count"),
        sa.func.sum(_HashHalf(row_hash, 1)).label("checksum_high"),
        sa.func.sum(_HashHalf(row_hash, 2)).label("checksum_low"),
    ).group_by(key)


def client_row_hash(values: Sequence[object]) -> int:
    """The signed 64-bit row hash of the client-side strategy (SQL Server 2000).

    SHA-256 over the same field encoding the T-SQL strategies hash (``dialects.client_field``);
    the first 8 bytes, as the server-side strategies take them.
    """
    digest = hashlib.sha256(b"".join(client_field(v) for v in values)).digest()
    return _INT64.unpack(digest[:8])[0]


def client_fingerprints(rows: Iterable[Sequence[object]], strategy: str) -> dict[str, Fingerprint]:
    """Fingerprints of streamed rows (the values, then the partition key), per partition.

    The aggregate is the servers' (``SUM`` of the signed high and low 32-bit halves).
    """
    sums: dict[str, list[int]] = {}
    for row in rows:
        row_hash = client_row_hash(row[:-1])
        counts = sums.setdefault(str(row[-1]), [0, 0, 0])
        counts[0] += 1
        counts[1] += row_hash >> 32
        counts[2] += _INT32.unpack(_UINT32.pack(row_hash & 0xFFFFFFFF))[0]
    return {k: Fingerprint(n, hi, lo, strategy) for k, (n, hi, lo) in sums.items()}
