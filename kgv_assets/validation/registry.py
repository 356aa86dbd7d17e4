"""Which checks apply to which target table: one declaration per table, in one place.

Every table loaded from a legacy table gets, from its declaration below:

- ``<table>_reconciled``: source rows = loaded + quarantined, per partition (ERROR, blocking);
- ``<table>_matches_source``: the content hash of every source row is found in the target or
  the quarantine (ERROR, blocking);
- ``<table>_keys_unique``: no primary key twice (ERROR, blocking);
- ``<table>_references_resolve``: no orphans, for the foreign keys declared (ERROR, blocking);
- ``<table>_values_converted``: legacy values kept raw because they did not convert (WARN);
- a format check per canonical converter its mapping applies (``<table>_emails_valid`` for
  the columns converted by ``parse_email``, …: ``kgv_assets.validation.rules.FORMATS``), so the
  check and the load use the same rule from its one home;
- the table's own ``rules`` (``kgv_assets.validation.rules``), named in the declaration;
- ``column_schema_change`` and a freshness policy (``kgv_assets/defs/checks/schema.py``).

Each legacy (staging) table gets ``<table>_reconciled`` for its staging stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from kgv_assets.layout import TargetTable, target_table
from kgv_assets.legacy.catalogue import Table
from kgv_assets.transform.tables.mapping import TableMapping
from kgv_assets.transform.tables.registry import LOADERS
from kgv_assets.validation.content import ContentSpec
from kgv_assets.validation.integrity import ForeignKey
from kgv_assets.validation.reconciliation import Ledger, target_ledger
from kgv_assets.validation.rules import Rule, SqlRule, format_rules
from kgv_assets.validation.tables import CheckedTable

_MAPPINGS = {loader.mapping.target: loader.mapping for loader in LOADERS}


@dataclass(frozen=True)
class TableChecks:
    """The checks of one target table.

    Attributes:
        table: The target table as checks see it.
        source: The legacy table it is loaded from (None for lookups seeded otherwise).
        target_key: The target column holding the legacy key, for the content check.
        foreign_keys: References whose parents must exist.
        rules: The table's domain and business rules.
    """

    table: CheckedTable
    source: Table | None = None
    target_key: str | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    rules: tuple[Rule, ...] = ()

    @property
    def name(self) -> str:
        """The target table's name (``applications``)."""
        return self.table.name

    @property
    def ledger(self) -> Ledger | None:
        """Where the reconciliation finds this table's rows and accounting."""
        return target_ledger(self.source.name, self.name) if self.source else None

    @property
    def content(self) -> ContentSpec | None:
        """How the content check finds the source rows again."""
        return ContentSpec(self.source, self.name, self.target_key) if self.source else None


def _legacy_key_column(mapping: TableMapping) -> str | None:
    """The target column the legacy key is loaded into (None where the table has no key)."""
    key = mapping.legacy.key_column
    return next((r.target for r in mapping.rules if key and r.source == key), None)


def loaded_from_legacy(
    target: str, *, foreign_keys: tuple[ForeignKey, ...] = (), rules: tuple[Rule, ...] = ()
) -> TableChecks:
    """The checks of a table loaded by a loader of ``kgv_assets.transform.tables``."""
    mapping = _MAPPINGS[target]
    return TableChecks(
        CheckedTable.of(mapping.table),
        mapping.legacy,
        _legacy_key_column(mapping),
        foreign_keys,
        (*format_rules(mapping), *rules),
    )


def seeded(table: TargetTable, *, rules: tuple[Rule, ...] = ()) -> TableChecks:
    """The checks of a target table no legacy table is loaded into (a lookup)."""
    return TableChecks(CheckedTable.of(table), rules=rules)


def _shared_waiting_list_number(column: str) -> sql.Composable:
    return sql.SQL(
        "(t.{c} IS NOT NULL AND EXISTS (SELECT FROM {applications} o"
        " WHERE o.is_active AND o.{c} = t.{c} AND o.id <> t.id))"
    ).format(c=sql.Identifier(column), applications=target_table("applications").ident)


TABLE_CHECKS: tuple[TableChecks, ...] = (
    loaded_from_legacy("districts"),
    loaded_from_legacy(
        "cadastral_districts", foreign_keys=(ForeignKey("district_id", "districts"),)
    ),
    loaded_from_legacy(
        "district_cadastral_links",
        foreign_keys=(
            ForeignKey("district_id", "districts"),
            ForeignKey("cadastral_district_id", "cadastral_districts"),
        ),
    ),
    loaded_from_legacy("file_references"),
    loaded_from_legacy("entry_numbers"),
    loaded_from_legacy(
        "applications",
        foreign_keys=(ForeignKey("file_reference_id", "file_references"),),
        rules=(
            SqlRule(
                "applications_confirmed_after_applying",
                "The confirmation date is not before the application date.",
                sql.SQL("t.confirmation_date < t.application_date"),
            ),
            SqlRule(
                "applications_waiting_list_numbers_unique",
                "Among active applications, each waiting-list number (list 32, list 33) is"
                " given once.",
                sql.SQL("t.is_active AND ({} OR {})").format(
                    _shared_waiting_list_number("waiting_list_number_32"),
                    _shared_waiting_list_number("waiting_list_number_33"),
                ),
            ),
            SqlRule(
                "applications_file_references_linked",
                "A file reference text names a known file reference (else it is kept as text"
                " only).",
                sql.SQL("t.file_reference IS NOT NULL AND t.file_reference_id IS NULL"),
            ),
        ),
    ),
    loaded_from_legacy(
        "application_history",
        foreign_keys=(
            ForeignKey("application_id", "applications"),
            ForeignKey("event_type", "event_types", "code"),
        ),
    ),
    loaded_from_legacy("users"),
    loaded_from_legacy("identifiers", foreign_keys=(ForeignKey("user_id", "users"),)),
    loaded_from_legacy("field_mappings"),
    seeded(
        target_table("event_types"),
        rules=(
            SqlRule(
                "event_types_known",
                "Every history event code found in the data is a known, labelled code.",
                sql.SQL("NOT t.is_known"),
            ),
        ),
    ),
)

CHECKS_BY_TABLE: dict[str, TableChecks] = {c.name: c for c in TABLE_CHECKS}
