"""Aktenzeichen → kgv.file_references."""

from __future__ import annotations

import pandas as pd
import psycopg

from kgv_assets.layout import target_table
from kgv_assets.transform.numbers import parse_positive_int, parse_year
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import (
    Rule,
    RuleLoader,
    TableMapping,
    Transformed,
    key_rule,
    reasons_where,
)
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("file_references"),
    rules=(
        key_rule("az_ID"),
        Rule("district_code", "az_Bezirk", clean_text),
        Rule("number", "az_Nummer", parse_positive_int),
        Rule("year", "az_Jahr", parse_year),
    ),
    notes=(
        "(district_code, number, year) is UNIQUE: a second row (other az_ID) with the same "
        "complete triple is quarantined as `conflicting duplicate (district, number, year)`; "
        "the first by partition and content hash is kept.",
    ),
)


class FileReferencesLoader(RuleLoader):
    """Loads kgv.file_references."""

    mapping = MAPPING
    schema = checks.target_schema(MAPPING)

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:  # noqa: D102
        result = super().transform(staged, conn)
        triple = result.rows[["district_code", "number", "year"]]
        taken = triple.notna().all(axis=1) & triple.duplicated(keep="first")
        rejected = reasons_where({"conflicting duplicate (district, number, year)": taken})
        return Transformed(result.rows.drop(index=rejected.index), rejected)
