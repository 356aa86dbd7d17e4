"""Which T-SQL the legacy server runs: one fingerprint strategy per SQL Server version family.

The legacy database dates from the mid-2000s; such servers are SQL Server 2005 or 2008 (R2),
sometimes still 2000, rarely upgraded. The extraction, the partition rule and the counts use
only what SQL Server 2000 already had (``CONVERT`` with styles, ``YEAR``, ``CASE``, ``COUNT``),
so one text serves every version. The fingerprints (``kgv_assets.legacy.fingerprint``) are
where versions differ, so the resource detects the version when it first connects
(``SERVERPROPERTY('ProductVersion')`` and the database's compatibility level; the *lower* of
the two decides, because a database kept at an older level is the conservative reading) and
picks the strategy of that family:

=========================  ======  ============================================================
family                     TDS     fingerprint
=========================  ======  ============================================================
SQL Server 2000            7.1     no ``HASHBYTES``: the rows are streamed to the client (the
                                   extractor's query) and hashed there with SHA-256
SQL Server 2005, 2008/R2   7.2/7.3 no ``CONCAT``: ``+`` with explicit ``CONVERT`` and a NULL
                                   marker; ``HASHBYTES('SHA1')`` over pieces of at most 8,000
                                   bytes, the piece digests hashed again
SQL Server 2012, 2014      7.4     ``CONCAT``; ``HASHBYTES('SHA2_256')`` over pieces of at most
                                   8,000 bytes (the input limit before 2016)
SQL Server 2016 and newer  7.4     ``CONCAT``; ``HASHBYTES('SHA2_256')`` over the whole row
SQLite (demo, tests)       -       read Arrow-natively, hashed by the client (SipHash, own key)
=========================  ======  ============================================================

Every strategy encodes a row injectively: each value as ``<bytes>:<text>``, a NULL as the
bare ``:``, so a NULL, an empty string and a value moved to the neighbouring column all give
different inputs. The pieces are cut between columns from the catalogue's maximum lengths
(known before the query is sent), so no piece can exceed the limit and the ``+`` of
``varchar`` values (which silently truncates at 8,000 bytes) never truncates. A strategy's
fingerprints are only ever compared with fingerprints of the same strategy: each recorded
fingerprint carries its strategy's name (``migration.partition_fingerprints.strategy``), and a
server upgrade that changes the strategy re-baselines instead of reloading
(``kgv_assets.sync.changes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from kgv_assets.legacy.catalogue import Column

PIECE_BYTES = 8000
"""HASHBYTES' input limit before SQL Server 2016, and the most ``varchar`` ``+`` keeps."""

NULL_FIELD = ":"
"""How a NULL is encoded (a value is ``<length>:<text>``, so never the bare colon)."""

_TEXT_LENGTH = {"uid": 36, "datetime": 23, "int": 11}
"""Longest canonical text of the converted kinds (``kgv_assets.legacy.extract``)."""


class UnsupportedServerError(RuntimeError):
    """The legacy server is older than SQL Server 2000, or its version cannot be read."""


@dataclass(frozen=True)
class Strategy:
    """How one family of servers fingerprints a partition.

    Attributes:
        name: Recorded with every fingerprint; fingerprints of different names never compare.
        family: The server versions it serves, for people.
        min_major: The lowest ``ProductVersion`` major number (8 = 2000, 9 = 2005, ...).
        tds_version: FreeTDS's ``TDS_Version`` for this family.
        hash_algorithm: The ``HASHBYTES`` algorithm; None where the server has none.
        has_concat: Whether ``CONCAT`` exists (2012+); otherwise ``+`` with NULL handling.
        piece_bytes: The most bytes one ``HASHBYTES`` call may take; None: no limit.
        server_side: False where the rows are hashed by the client (SQL Server 2000).
    """

    name: str
    family: str
    min_major: int
    tds_version: str
    hash_algorithm: str | None
    has_concat: bool
    piece_bytes: int | None
    server_side: bool = True


SQLITE = Strategy(
    f"sqlite_polars_{pl.__version__}",
    "SQLite (demo and tests)",
    0,
    "-",
    None,
    True,
    None,
    server_side=False,
)
"""Hashed by polars from the Arrow-native read (``kgv_assets.legacy.fingerprint``); its row
hash is stable within one polars version, so the version is part of the name (before:
``sqlite_siphash``, SipHash over Python objects, and ``sqlite_blake2b``, a function per row
inside SQLite; fingerprints recorded by another strategy re-baseline once,
``kgv_assets.sync.changes``)."""
MSSQL_2000 = Strategy(
    "mssql2000_client_sha256", "SQL Server 2000", 8, "7.1", None, False, None, server_side=False
)
MSSQL_2005 = Strategy(
    "mssql2005_sha1_pieces", "SQL Server 2005, 2008, 2008 R2", 9, "7.2 / 7.3", "SHA1", False,
    PIECE_BYTES,
)  # fmt: skip
MSSQL_2012 = Strategy(
    "mssql2012_sha256_pieces", "SQL Server 2012, 2014", 11, "7.4", "SHA2_256", True, PIECE_BYTES
)
MSSQL_2016 = Strategy(
    "mssql2016_sha256", "SQL Server 2016 and newer", 13, "7.4", "SHA2_256", True, None
)

MSSQL_STRATEGIES = (MSSQL_2000, MSSQL_2005, MSSQL_2012, MSSQL_2016)
"""Oldest first."""
STRATEGIES = {s.name: s for s in (SQLITE, *MSSQL_STRATEGIES)}

VERSION_QUERY = "SELECT CAST(SERVERPROPERTY('ProductVersion') AS varchar(128))"
"""The server's version, e.g. ``10.50.6000.34`` (SQL Server 2008 R2); exists since 2000."""
COMPATIBILITY_QUERY = "SELECT compatibility_level FROM sys.databases WHERE name = DB_NAME()"
"""The database's compatibility level (``sys.databases``: SQL Server 2005 and newer)."""
COMPATIBILITY_QUERY_2000 = "SELECT cmptlevel FROM master.dbo.sysdatabases WHERE name = DB_NAME()"
"""The same on SQL Server 2000, which has no catalog views."""


def major_version(product_version: str) -> int:
    """The major number of ``SERVERPROPERTY('ProductVersion')`` ('10.50.6000.34' → 10)."""
    found = re.match(r"\s*(\d+)\.", product_version or "")
    if not found:
        raise UnsupportedServerError(f"cannot read the SQL Server version from {product_version!r}")
    return int(found.group(1))


def mssql_strategy(major: int, compatibility_level: int | None = None) -> Strategy:
    """The strategy for a server of ``major`` whose database runs at ``compatibility_level``.

    The compatibility level (80 = 2000, 90 = 2005, 100 = 2008, 110 = 2012, ... 130 = 2016) is
    a version too: the lower of the two decides.
    """
    effective = major if compatibility_level is None else min(major, compatibility_level // 10)
    fitting = [s for s in MSSQL_STRATEGIES if s.min_major <= effective]
    if not fitting:
        raise UnsupportedServerError(
            f"SQL Server major version {effective} is older than SQL Server 2000: not supported"
        )
    return fitting[-1]


def detect_mssql(conn: sa.Connection) -> tuple[Strategy, str, int | None]:
    """Ask the server: (strategy, product version, compatibility level)."""
    version = str(conn.exec_driver_sql(VERSION_QUERY).scalar_one())
    major = major_version(version)
    query = COMPATIBILITY_QUERY if major >= 9 else COMPATIBILITY_QUERY_2000
    level = conn.exec_driver_sql(query).scalar()
    compatibility = int(level) if level is not None else None
    return mssql_strategy(major, compatibility), version, compatibility


def max_text_bytes(column: Column) -> int:
    """The longest canonical text of ``column`` in bytes (single-byte code page)."""
    return _TEXT_LENGTH.get(column.kind) or int(column.length or PIECE_BYTES)


def max_field_bytes(column: Column) -> int:
    """The longest encoded field ``<length>:<text>`` of ``column``."""
    longest = max_text_bytes(column)
    return len(str(longest)) + 1 + longest


def pieces(columns: tuple[Column, ...] | list[Column], budget: int | None) -> list[list[int]]:
    """Column positions grouped in order so that no group's encoding can exceed ``budget``.

    Raises:
        ValueError: A single column could exceed the budget (no legacy column comes close).
    """
    if budget is None:
        return [list(range(len(columns)))]
    groups: list[list[int]] = [[]]
    size = 0
    for i, column in enumerate(columns):
        field = max_field_bytes(column)
        if field > budget:
            raise ValueError(f"{column.name}: up to {field} bytes, more than {budget}")
        if size + field > budget and groups[-1]:
            groups.append([])
            size = 0
        groups[-1].append(i)
        size += field
    return groups


def encode_fields(strategy: Strategy, values: list[str]) -> str:
    """T-SQL concatenating the encoded fields of compiled text expressions ``values``."""
    if strategy.has_concat:
        # CONCAT turns NULL into '': DATALENGTH(NULL) and NULL both vanish, leaving ':'.
        parts = [f"DATALENGTH({v}), '{NULL_FIELD}', {v}" for v in values]
        if strategy.piece_bytes is None:
            # CONCAT of non-LOB values stops at 8,000 bytes; one varchar(max) lifts that.
            parts.insert(0, "CONVERT(varchar(max), '')")
        return f"CONCAT({', '.join(parts)})"
    # Before 2012: '+' propagates NULL, so each field says what it is itself.
    fields = [
        f"CASE WHEN {v} IS NULL THEN '{NULL_FIELD}'"
        f" ELSE CONVERT(varchar(11), DATALENGTH({v})) + '{NULL_FIELD}' + {v} END"
        for v in values
    ]
    return " + ".join(fields)


def row_hash_sql(
    strategy: Strategy, columns: list[Column], values: list[str], budget: int | None = None
) -> str:
    """The T-SQL ``HASHBYTES`` expression of a row: whole, or over pieces then combined.

    Args:
        strategy: A server-side SQL Server strategy.
        columns: The catalogue columns (for their maximum lengths), in order.
        values: Their compiled canonical text expressions, in the same order.
        budget: Bytes per piece; default the strategy's limit (tests pass smaller ones).
    """
    if strategy.hash_algorithm is None:
        raise ValueError(f"{strategy.name} hashes on the client, not in T-SQL")
    algorithm = strategy.hash_algorithm
    groups = pieces(columns, budget if budget is not None else strategy.piece_bytes)
    digests = [
        f"HASHBYTES('{algorithm}', {encode_fields(strategy, [values[i] for i in g])})"
        for g in groups
    ]
    if len(digests) == 1:
        return digests[0]
    # Digests have a fixed length, so their concatenation is unambiguous (and far below 8000).
    return f"HASHBYTES('{algorithm}', {' + '.join(digests)})"


def client_field(value: Any) -> bytes:
    """One field as the client-side strategy encodes it (the same form as the T-SQL)."""
    if value is None:
        return NULL_FIELD.encode()
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogateescape")
    return str(len(data)).encode() + NULL_FIELD.encode() + data
