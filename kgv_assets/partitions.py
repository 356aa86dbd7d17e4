"""Partitions of the dated legacy tables and the row → partition rule, in one place.

Antrag (by an_Bewerbungsdatum), Verlauf (by verl_Datum), Aktenzeichen (by az_Jahr) and
Eingangsnummer (by enr_Jahr) are split by year, plus one partition ``undated`` for rows with no
usable date. Their target tables share the partitions. The small reference tables are
unpartitioned.

A date is usable when it is not NULL, not one of SQL Server's sentinel dates (1900-01-01,
1753-01-01, 9999-12-31) and its year lies in [MIN_YEAR, MAX_YEAR]; a year column is usable when
it is in that range. The rule is an SQL expression evaluated by the source database, so a
partition can be read alone, fingerprinted and counted on the server, and every row lands in
exactly one partition. Years are dynamic partitions registered from the source: a year that
appears later needs no code change.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from kgv_assets.legacy.catalogue import Table

UNDATED = "undated"
MIN_YEAR = 1800
MAX_YEAR = 2199
SENTINEL_DATES = ("1900-01-01", "1753-01-01", "9999-12-31")

LEGACY_YEAR = "legacy_year"
"""The name of the yearly partitions (dynamic: registered from the source)."""
legacy_year = dg.DynamicPartitionsDefinition(name=LEGACY_YEAR)


class _YearOf(FunctionElement[Any]):
    """The year of a legacy datetime value (NULL where the source cannot read one)."""

    type = sa.Integer()
    inherit_cache = True


class _DateOf(FunctionElement[Any]):
    """The calendar date of a legacy datetime value as ``YYYY-MM-DD`` text."""

    type = sa.String()
    inherit_cache = True


@compiles(_YearOf)
def _year_default(element: _YearOf, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(YEAR FROM {compiler.process(element.clauses, **kw)})"


@compiles(_YearOf, "sqlite")
def _year_sqlite(element: _YearOf, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%Y', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(_YearOf, "mssql")
def _year_mssql(element: _YearOf, compiler: Any, **kw: Any) -> str:
    return f"YEAR({compiler.process(element.clauses, **kw)})"


@compiles(_DateOf)
def _date_default(element: _DateOf, compiler: Any, **kw: Any) -> str:
    return f"CAST(CAST({compiler.process(element.clauses, **kw)} AS DATE) AS VARCHAR(10))"


@compiles(_DateOf, "sqlite")
def _date_sqlite(element: _DateOf, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(_DateOf, "mssql")
def _date_mssql(element: _DateOf, compiler: Any, **kw: Any) -> str:
    return f"CONVERT(char(10), {compiler.process(element.clauses, **kw)}, 23)"


def partition_key_expression(table: Table, column: ColumnElement[Any]) -> ColumnElement[str]:
    """The SQL expression giving a row's partition key ('2019' or 'undated').

    Args:
        table: The legacy table (must be partitioned).
        column: The table's partition column as an SQLAlchemy column of the source table.
    """
    if not table.partition_column:
        raise ValueError(f"{table.name} is not partitioned")
    kind = table.column(table.partition_column).kind
    if kind == "int":
        year: ColumnElement[Any] = sa.cast(column, sa.Integer)
        usable = sa.and_(column.is_not(None), year.between(MIN_YEAR, MAX_YEAR))
    elif kind == "datetime":
        year = _YearOf(column)
        usable = sa.and_(
            column.is_not(None),
            year.between(MIN_YEAR, MAX_YEAR),
            _DateOf(column).not_in(SENTINEL_DATES),
        )
    else:
        raise ValueError(f"cannot partition {table.name} by a {kind} column")
    return sa.case((usable, sa.cast(year, sa.String(4))), else_=sa.literal(UNDATED))


RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def register_partition_keys(instance: dg.DagsterInstance, keys: set[str]) -> list[str]:
    """Add the keys the instance does not know yet (in reading order); return them."""
    known = set(instance.get_dynamic_partitions(LEGACY_YEAR))
    new = sort_partition_keys(keys - known)
    if new:
        instance.add_dynamic_partitions(LEGACY_YEAR, new)
    return new


PARTITION_TAG = "dagster/partition"


def has_partition_tags(tags: dict[str, str] | Any) -> bool:
    """Whether run ``tags`` select a partition or a partition range."""
    return PARTITION_TAG in tags or (RANGE_START_TAG in tags and RANGE_END_TAG in tags)


def all_partitions_tags(instance: dg.DagsterInstance) -> dict[str, str]:
    """Run tags selecting every registered partition: one run migrates whole tables."""
    keys = instance.get_dynamic_partitions(LEGACY_YEAR)
    if not keys:
        raise ValueError("no partitions registered yet: run `kgv partitions sync` first")
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def sort_partition_keys(keys: list[str] | set[str]) -> list[str]:
    """Partition keys in the order people read them: 'undated' first, then years ascending."""
    return sorted(set(keys), key=lambda k: (k != UNDATED, k))
