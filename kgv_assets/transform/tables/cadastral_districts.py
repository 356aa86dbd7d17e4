"""Katasterbezirk → kgv.cadastral_districts."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import psycopg
from psycopg import sql

from kgv_assets.layout import target_table
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import (
    Rule,
    RuleLoader,
    TableMapping,
    Transformed,
    apply_rules,
    legacy_values,
    merge_legacy,
)
from kgv_assets.transform.tables.reference import existing_ids
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("cadastral_districts"),
    rules=(
        Rule("id", "kat_ID", doc="legacy uniqueidentifier kept as the uuid primary key"),
        Rule(
            "district_id",
            "kat_bez_ID",
            doc="the district if it exists in kgv.districts; else NULL (nullable by design), "
            "raw kat_bez_ID kept in legacy",
        ),
        Rule("code", "kat_Katasterbezirk", clean_text),
        Rule("name", "kat_KatasterbezirkName", clean_text),
        Rule("boundary", None, doc="not in the legacy data: NULL until geometries are loaded"),
    ),
    notes=(
        "Key-less legacy table: copies quarantined as `duplicate` / `conflicting duplicate` "
        "by kat_ID (the first by partition and content hash is kept).",
        "Orphans (kat_bez_ID of no district) are loaded with district_id NULL.",
    ),
)

SCHEMA = pa.DataFrameSchema({"id": checks.key_column()}, name="kgv.cadastral_districts")


class CadastralDistrictsLoader(RuleLoader):
    """Loads kgv.cadastral_districts."""

    mapping = MAPPING
    schema = SCHEMA
    parents = ("districts",)

    def lookups(self) -> dict[str, sql.Composable]:  # noqa: D102
        return {"_district_found": existing_ids("kat_bez_ID", "districts")}

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:  # noqa: D102
        rows, legacy = apply_rules(MAPPING, staged)
        orphan = staged["kat_bez_ID"].notna() & ~staged["_district_found"].astype(bool)
        rows["district_id"] = staged["kat_bez_ID"].where(~orphan)
        orphans = legacy_values(staged[["kat_bez_ID"]].where(orphan))
        return Transformed(rows.assign(legacy=merge_legacy(legacy, orphans)))
