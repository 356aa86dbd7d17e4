"""Kennungen → kgv.identifiers (Windows logins of the clerks)."""

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
    legacy_values,
    merge_legacy,
)
from kgv_assets.transform.tables.reference import existing_ids
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("identifiers"),
    rules=(
        Rule("id", "Kenn_ID", doc="legacy uniqueidentifier kept as the uuid primary key"),
        Rule("login_name", "Kenn_Name", clean_text),
        Rule("domain", "Kenn_Domaene", clean_text),
        Rule(
            "user_id",
            "Kenn_pers_ID",
            doc="the clerk if it exists in kgv.users; else NULL (nullable by design: a login "
            "may outlive its clerk), raw Kenn_pers_ID kept in legacy",
        ),
    ),
    notes=(
        "Key-less legacy table: copies quarantined as `duplicate` / `conflicting duplicate` "
        "by Kenn_ID (the first by partition and content hash is kept).",
        "Orphans (logins of unknown persons) are loaded with user_id NULL.",
    ),
)


class IdentifiersLoader(RuleLoader):
    """Loads kgv.identifiers."""

    mapping = MAPPING
    schema = pa.DataFrameSchema({"id": checks.key_column()}, name="kgv.identifiers")
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
