"""Where the data lives: schemas, bookkeeping columns, asset keys and the index of target tables.

Every other module asks this one instead of spelling a schema, a column or an asset key
itself, as Dagster's database IO managers derive schema and table from the asset key:

- the legacy table ``dbo.<Table>`` is asset ``legacy/<Table>``, landed in ``staging."<Table>"``
  with the bookkeeping columns ``_partition``, ``_row_hash`` and ``_run_id``;
- the target table ``kgv.<table>`` is asset ``kgv/<table>``; a loaded row carries its legacy
  partition (``legacy_partition``), the content hash of its legacy row (``legacy_hash``) and the
  legacy values that did not convert (``legacy``);
- the migration's own bookkeeping (quarantine, accounting, fingerprints) is in ``migration``,
  the audit trail in ``audit``.

``TARGET_TABLES`` lists every target table in load order (parents first) with the legacy table
it is loaded from, its key and whether it is partitioned; each table's conversion rules are in
``kgv_assets/transform/tables/<table>.py``, which takes its ``TargetTable`` from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from psycopg import sql

from kgv_assets.legacy.catalogue import Table, table

STAGING = "staging"
TARGET = "kgv"
MIGRATION = "migration"
AUDIT = "audit"

PARTITION_COLUMN = "_partition"
"""Staging: the row's partition key ('2019', 'undated'; 'all' for unpartitioned tables)."""
HASH_COLUMN = "_row_hash"
"""Staging: the content hash of the legacy row (``kgv_assets.transform.hashing``)."""
RUN_COLUMN = "_run_id"
"""Staging: the Dagster run that landed the row."""
UNPARTITIONED = "all"
"""The partition key of every row of an unpartitioned table."""

TARGET_PARTITION = "legacy_partition"
"""Target: the legacy partition the row was loaded from."""
LEGACY_HASH = "legacy_hash"
"""Target: the content hash of the legacy row (the staging ``_row_hash``)."""
LEGACY_VALUES = "legacy"
"""Target: jsonb of the legacy values that did not convert (NULL where all did)."""
TARGET_BOOKKEEPING = (LEGACY_VALUES, LEGACY_HASH, TARGET_PARTITION)

REPORTING_VIEWS = ("waiting_list_stats", "applications_per_year_status")
"""The materialized views in ``kgv`` that ``kgv/reporting_views`` refreshes."""


def legacy_key(name: str) -> dg.AssetKey:
    """The asset key of the legacy table ``name`` (``legacy/<Table>``)."""
    return dg.AssetKey(["legacy", name])


def target_key(name: str) -> dg.AssetKey:
    """The asset key of the target table ``kgv.<name>`` (``kgv/<name>``)."""
    return dg.AssetKey([TARGET, name])


SCHEMA_MIGRATIONS_KEY = dg.AssetKey([MIGRATION, "schema_migrations"])
REPORT_KEY = dg.AssetKey([MIGRATION, "report"])
EVENT_TYPES_KEY = target_key("event_types")
REPORTING_VIEWS_KEY = target_key("reporting_views")


def staged(name: str) -> sql.Identifier:
    """``staging."<Table>"`` of the legacy table ``name``, quoted."""
    return sql.Identifier(STAGING, name)


@dataclass(frozen=True)
class TargetTable:
    """One table in ``kgv``: where it comes from and how its rows are identified.

    Attributes:
        name: The table's name in schema ``kgv``.
        source: The legacy table it is loaded from; None for a table seeded otherwise.
        key: The columns of its primary key.
    """

    name: str
    source: Table | None
    key: tuple[str, ...] = ("id",)

    @property
    def asset_key(self) -> dg.AssetKey:
        """``kgv/<name>``."""
        return target_key(self.name)

    @property
    def qualified(self) -> str:
        """``kgv.<name>`` for people."""
        return f"{TARGET}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        """``kgv.<name>``, quoted."""
        return sql.Identifier(TARGET, self.name)

    @property
    def partitioned(self) -> bool:
        """Whether the table shares the yearly partitions of its legacy table."""
        return self.source is not None and self.source.is_partitioned

    @property
    def partition_column(self) -> str | None:
        """The column naming each row's legacy partition; None for a table without one."""
        return TARGET_PARTITION if self.source is not None else None

    @property
    def legacy(self) -> Table:
        """The legacy table (for tables loaded from one)."""
        if self.source is None:
            raise ValueError(f"{self.qualified} is not loaded from a legacy table")
        return self.source


def _loaded(name: str, source: str, key: tuple[str, ...] = ("id",)) -> TargetTable:
    return TargetTable(name, table(source), key)


TARGET_TABLES: tuple[TargetTable, ...] = (
    _loaded("districts", "Bezirk"),
    _loaded("cadastral_districts", "Katasterbezirk"),
    _loaded(
        "district_cadastral_links",
        "Bezirke_Katasterbezirke",
        ("district_id", "cadastral_district_id"),
    ),
    _loaded("file_references", "Aktenzeichen"),
    _loaded("entry_numbers", "Eingangsnummer"),
    TargetTable("event_types", None, ("code",)),
    _loaded("applications", "Antrag"),
    _loaded("application_history", "Verlauf"),
    _loaded("users", "Personen"),
    _loaded("identifiers", "Kennungen"),
    _loaded("field_mappings", "Mischenfelder"),
)
"""Every target table, parents before the tables that reference them."""

_BY_NAME = {t.name: t for t in TARGET_TABLES}
LOADED_TABLES: tuple[TargetTable, ...] = tuple(t for t in TARGET_TABLES if t.source is not None)
"""The target tables loaded from a legacy table (each by the module of the same name)."""
_BY_SOURCE = {t.legacy.name: t for t in LOADED_TABLES}


def target_table(name: str) -> TargetTable:
    """The target table ``kgv.<name>``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown target table {name!r}") from None


def loaded_from(source: str) -> TargetTable:
    """The target table the legacy table ``source`` is loaded into."""
    try:
        return _BY_SOURCE[source]
    except KeyError:
        raise KeyError(f"legacy table {source!r} is loaded into no target table") from None


def partitioned_target_keys() -> list[dg.AssetKey]:
    """The asset keys of the partitioned target tables."""
    return [t.asset_key for t in LOADED_TABLES if t.partitioned]
