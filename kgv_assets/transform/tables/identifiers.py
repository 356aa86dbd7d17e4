"""Kennungen → kgv.identifiers (Windows logins of the clerks)."""

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
    copies_note,
    key_rule,
    legacy_values,
    merge_legacy,
    text_rules,
)
from kgv_assets.transform.tables.reference import existing_ids

MAPPING = TableMapping(
    target_table("identifiers"),
    rules=(
        key_rule("Kenn_ID"),
        *text_rules(
            login_name="Kenn_Name",
            domain="Kenn_Domaene",
        ),
        Rule(
            "user_id",
            "Kenn_pers_ID",
            doc="the clerk if it exists in kgv.users; else NULL (nullable by design: a login "
            "may outlive its clerk), raw Kenn_pers_ID kept in legacy",
        ),
    ),
    notes=(
        copies_note("Kenn_ID"),
        "Orphans (logins of unknown persons) are loaded with user_id NULL.",
    ),
)


class IdentifiersLoader(RuleLoader):
    """Loads kgv.identifiers."""

    mapping = MAPPING
    schema = checks.target_schema(MAPPING)
    parents = ("users",)

    def lookups(self) -> dict[str, sql.Composable]:  # noqa: D102
        return {"_user_found": existing_ids("Kenn_pers_ID", "users")}

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:  # noqa: D102
        result = super().transform(staged, conn)
        orphan = staged["Kenn_pers_ID"].notna() & ~staged["_user_found"].astype(bool)
        result.rows["user_id"] = staged["Kenn_pers_ID"].where(~orphan)
        raw = legacy_values(staged[["Kenn_pers_ID"]].where(orphan))
        result.rows["legacy"] = merge_legacy(result.rows["legacy"], raw)
        return result
