"""Mischenfelder → kgv.field_mappings."""

from __future__ import annotations

import pandera.pandas as pa

from kgv_assets.layout import target_table
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import Rule, RuleLoader, TableMapping
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("field_mappings"),
    rules=(
        Rule("id", "misch_ID", doc="legacy uniqueidentifier kept as the uuid primary key"),
        Rule("database_field", "misch_Datenbankfeld", clean_text),
        Rule("document_field", "misch_Dokumentfeld", clean_text),
        Rule("comment", "misch_Kommentar", clean_text),
    ),
    notes=(
        "Key-less legacy table: copies quarantined as `duplicate` / `conflicting duplicate` "
        "by misch_ID (the first by partition and content hash is kept).",
    ),
)


class FieldMappingsLoader(RuleLoader):
    """Loads kgv.field_mappings."""

    mapping = MAPPING
    schema = pa.DataFrameSchema({"id": checks.key_column()}, name="kgv.field_mappings")
