"""Katasterbezirk → kgv.cadastral_districts."""

from __future__ import annotations

import pandas as pd
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
    copies_note,
    key_rule,
    legacy_values,
    merge_legacy,
    text_rules,
)
from kgv_assets.transform.tables.reference import existing_ids

MAPPING = TableMapping(
    target_table("cadastral_districts"),
    rules=(
        key_rule("kat_ID"),
        Rule(
            "district_id",
            "kat_bez_ID",
            doc="the district if it exists in kgv.districts; else NULL (nullable by design), "
            "raw kat_bez_ID kept in legacy",
        ),
        *text_rules(
            code="kat_Katasterbezirk",
            name="kat_KatasterbezirkName",
        ),
        Rule("boundary", None, doc="not in the legacy data: NULL until geometries are loaded"),
    ),
    notes=(
        copies_note("kat_ID"),
        "Orphans (kat_bez_ID of no district) are loaded with district_id NULL.",
    ),
)

SCHEMA = checks.target_schema(MAPPING)


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
