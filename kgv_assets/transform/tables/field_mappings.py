"""Mischenfelder → kgv.field_mappings."""

from __future__ import annotations

from kgv_assets.layout import target_table
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import (
    RuleLoader,
    TableMapping,
    copies_note,
    key_rule,
    text_rules,
)

MAPPING = TableMapping(
    target_table("field_mappings"),
    rules=(
        key_rule("misch_ID"),
        *text_rules(
            database_field="misch_Datenbankfeld",
            document_field="misch_Dokumentfeld",
            comment="misch_Kommentar",
        ),
    ),
    notes=(copies_note("misch_ID"),),
)


class FieldMappingsLoader(RuleLoader):
    """Loads kgv.field_mappings."""

    mapping = MAPPING
    schema = checks.target_schema(MAPPING)
