"""Verlauf → kgv.application_history (events of an application)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import psycopg
from psycopg import sql

from kgv_assets.layout import target_table
from kgv_assets.transform.dates import parse_legacy_datetime
from kgv_assets.transform.sizes import parse_size_m2
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import (
    Rule,
    RuleLoader,
    TableMapping,
    Transformed,
    key_rule,
    reasons_where,
    text_rules,
)
from kgv_assets.transform.tables.reference import existing_ids
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("application_history"),
    rules=(
        key_rule("verl_ID"),
        Rule(
            "application_id",
            "verl_An_ID",
            doc="the application; a row whose application is not in kgv.applications is "
            "quarantined as `orphan`",
        ),
        Rule(
            "event_type",
            "verl_Art",
            clean_text,
            doc="trimmed code; codes not yet in kgv.event_types are added there (never rejected)",
        ),
        Rule("event_date", "verl_Datum", parse_legacy_datetime),
        *text_rules(
            gemarkung="verl_Gemarkung",
            flur="verl_Flur",
            parcel="verl_Parzelle",
        ),
        Rule("size_m2", "verl_Groesse", parse_size_m2),
        *text_rules(
            case_worker="verl_Sachbearbeiter",
            note="verl_Hinweis",
            comment="verl_Kommentar",
        ),
    ),
    notes=(
        "Partitioned by the year of verl_Datum, like the target's yearly range partitions; "
        "undated rows go to the default partition.",
        "Orphans (verl_An_ID of no loaded application, or NULL) are quarantined as `orphan`: "
        "an event without its application is meaningless in the target.",
    ),
)

SCHEMA = checks.target_schema(
    MAPPING,
    application_id=pa.Column(object, nullable=False),
    size_m2=pa.Column(
        object, checks=[checks.between(0.01, 1e7, "size out of range")], nullable=True
    ),
)


class ApplicationHistoryLoader(RuleLoader):
    """Loads kgv.application_history."""

    mapping = MAPPING
    schema = SCHEMA
    parents = ("applications", "event_types")
    looked_up = {"applications": ("id",)}  # whether the application exists (lookups)

    def prepare(self, conn: psycopg.Connection) -> None:
        """Every year in the staged data gets its yearly partition (new years need no code).

        The staged years are found by skipping through the partition index (one probe per
        year) instead of a DISTINCT over every staged row.
        """
        conn.execute(
            "WITH RECURSIVE staged_years(p) AS ("
            ' SELECT min(_partition) FROM staging."Verlauf"'
            ' UNION ALL SELECT (SELECT min(_partition) FROM staging."Verlauf"'
            "  WHERE _partition > p)"
            " FROM staged_years WHERE p IS NOT NULL)"
            " SELECT kgv.ensure_history_partition(p::integer)"
            " FROM staged_years WHERE p ~ '^[0-9]{4}$'"
        )

    def lookups(self) -> dict[str, sql.Composable]:  # noqa: D102
        return {"_application_found": existing_ids("verl_An_ID", "applications")}

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:  # noqa: D102
        result = super().transform(staged, conn)
        found = staged["_application_found"].astype(bool)
        rejected = reasons_where(
            {
                "orphan: application not found": staged["verl_An_ID"].notna() & ~found,
                "orphan: no application": staged["verl_An_ID"].isna(),
            }
        )
        return Transformed(result.rows.drop(index=rejected.index), rejected)
