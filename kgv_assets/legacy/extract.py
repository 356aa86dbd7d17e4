"""The SQL the extractor sends to the legacy source: explicit columns, canonical text, stable order.

Every column is selected as text in one canonical form per T-SQL type, so that SQL Server (via
pyodbc) and SQLite deliver identical Python strings and the content hash is the same on both:

- uniqueidentifier → ``CONVERT(char(36), col)`` (SQL Server's upper-case form);
- datetime → ``CONVERT(varchar(23), col, 121)`` = ``YYYY-MM-DD hh:mm:ss.mmm``;
- int → decimal text; varchar/char → unchanged.

SQLite has no types to convert, so values are read as stored, as text (``CAST(col AS TEXT)``);
what SQL Server could never hold (an int column holding '12a') is caught by the legacy
pandera schema afterwards. Through the SQLite ODBC driver (the tests' stand-in for SQL
Server's ODBC readers) the same ``CAST(col AS TEXT)`` still gives text: the driver reports every
expression as ``VARCHAR(255)``, an int column's values too; it only cuts a value at a NUL
character (``kgv_assets_tests/resources/test_odbc.py``). Rows come in a stable order: the
primary key, or all columns where the table has none. The query never uses ``SELECT *`` and
never trusts the source's own types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from kgv_assets.layout import PARTITION_COLUMN, UNPARTITIONED
from kgv_assets.legacy.catalogue import Column, Table
from kgv_assets.partitions import partition_key_expression


class _LegacyText(FunctionElement[Any]):
    """A legacy value in its canonical text form (see the module docstring)."""

    type = sa.String()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], kind: str) -> None:
        self.kind = kind
        super().__init__(column)


@compiles(_LegacyText)
def _text_default(element: _LegacyText, compiler: Any, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    return inner if element.kind in ("varchar", "char") else f"CAST({inner} AS TEXT)"


@compiles(_LegacyText, "sqlite")
def _text_sqlite(element: _LegacyText, compiler: Any, **kw: Any) -> str:
    # SQLite's type affinity may hand back numbers from any column: read everything as text.
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(_LegacyText, "mssql")
def _text_mssql(element: _LegacyText, compiler: Any, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    converted = {
        "uid": f"CONVERT(char(36), {inner})",
        "datetime": f"CONVERT(varchar(23), {inner}, 121)",
        "int": f"CONVERT(varchar(11), {inner})",
    }
    return converted.get(element.kind, str(inner))


def canonical_text(column: ColumnElement[Any], kind: str) -> ColumnElement[str]:
    """A legacy value in its canonical text form, as the extractor selects it."""
    return _LegacyText(column, kind)


def source_table(table: Table, schema: str | None = None) -> sa.Table:
    """An SQLAlchemy description of the legacy table, typed from the catalogue only."""
    types: dict[str, Any] = {
        "uid": sa.String(36),
        "int": sa.Integer(),
        "datetime": sa.DateTime(),
    }

    def sa_column(c: Column) -> sa.Column[Any]:
        return sa.Column(c.name, types.get(c.kind, sa.String(c.length)), nullable=c.nullable)

    return sa.Table(table.name, sa.MetaData(), *map(sa_column, table.columns), schema=schema)


def partition_key_of(table: Table, source: sa.Table) -> ColumnElement[str]:
    """The partition key of each row as an expression over ``source``."""
    if not table.partition_column:
        return sa.literal(UNPARTITIONED)
    return partition_key_expression(table, source.c[table.partition_column])


def select_rows(
    table: Table, schema: str | None = None, partition_keys: Sequence[str] | None = None
) -> sa.Select[Any]:
    """All columns as canonical text plus ``_partition``, in a stable order.

    Args:
        table: The legacy table.
        schema: The source schema (``dbo`` on SQL Server; None for SQLite).
        partition_keys: Only rows of these partitions; None for all rows.
    """
    src = source_table(table, schema)
    key = partition_key_of(table, src)
    columns = [canonical_text(src.c[c.name], c.kind).label(c.name) for c in table.columns]
    stmt = sa.select(*columns, key.label(PARTITION_COLUMN)).select_from(src)
    if partition_keys is not None and table.is_partitioned:
        stmt = stmt.where(key.in_(list(partition_keys)))
    # Order on the server in the source's own collation (SQL Server orders uniqueidentifier by
    # its own byte order): never re-sort keys in Python.
    return stmt.order_by(*(src.c[name] for name in table.order_by))


def count_rows_by_partition(
    table: Table, schema: str | None = None, partition_keys: Sequence[str] | None = None
) -> sa.Select[Any]:
    """Row counts per partition (only ``partition_keys``, if given), computed by the source."""
    src = source_table(table, schema)
    key = partition_key_of(table, src)
    stmt = sa.select(key.label(PARTITION_COLUMN), sa.func.count().label("rows")).select_from(src)
    if partition_keys is not None and table.is_partitioned:
        stmt = stmt.where(key.in_(list(partition_keys)))
    return stmt.group_by(key)
