"""Bezirk → kgv.districts."""

from __future__ import annotations

import pandas as pd
import psycopg

from kgv_assets.layout import target_table
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import (
    Rule,
    RuleLoader,
    TableMapping,
    Transformed,
    apply_rules,
    key_rule,
    reasons_where,
)
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("districts"),
    rules=(
        key_rule("bez_ID"),
        Rule("name", "bez_Name", clean_text),
        Rule("description", None, doc="not in the legacy data: NULL"),
    ),
    notes=(
        "Key-less legacy table: exact copies of a row are quarantined as `duplicate`, other "
        "rows with the same bez_ID as `conflicting duplicate` (the first by partition and "
        "content hash is kept).",
        "name is UNIQUE NOT NULL: a district without a name is quarantined by the target "
        "schema; a second district (other bez_ID) with a name already taken is quarantined "
        "as `conflicting duplicate (name)`.",
    ),
)

SCHEMA = checks.target_schema(MAPPING, name=checks.text(nullable=False))


class DistrictsLoader(RuleLoader):
    """Loads kgv.districts."""

    mapping = MAPPING
    schema = SCHEMA

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:  # noqa: D102
        rows, legacy = apply_rules(MAPPING, staged)
        taken = rows["name"].notna() & rows["name"].duplicated(keep="first")
        rejected = reasons_where({"conflicting duplicate (name)": taken})
        return Transformed(rows.drop(index=rejected.index).assign(legacy=legacy), rejected)
