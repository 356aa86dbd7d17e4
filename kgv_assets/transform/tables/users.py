"""Personen → kgv.users (the clerks)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import psycopg

from kgv_assets.layout import target_table
from kgv_assets.transform.emails import parse_email
from kgv_assets.transform.flags import apply_is_active_default, parse_flag
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import Rule, RuleLoader, TableMapping, Transformed
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("users"),
    rules=(
        Rule("id", "Pers_ID", doc="legacy uniqueidentifier kept as the uuid primary key"),
        Rule("salutation", "Pers_Anrede", clean_text),
        Rule("first_name", "Pers_Vorname", clean_text),
        Rule("last_name", "Pers_Nachname", clean_text),
        Rule("employee_number", "Pers_Nummer", clean_text),
        Rule("department", "Pers_Organisationseinheit", clean_text),
        Rule("room", "Pers_Zimmer", clean_text),
        Rule(
            "phone",
            "Pers_Telefon",
            clean_text,
            doc="internal extension (varchar(10)): trimmed text, not E.164",
        ),
        Rule("fax", "Pers_FAX", clean_text, doc="internal extension: trimmed text"),
        Rule("email", "Pers_Email", parse_email),
        Rule("dictation_code", "Pers_Diktatzeichen", clean_text),
        Rule("signature", "Pers_Unterschrift", clean_text),
        Rule("job_title", "Pers_Dienstbezeichnung", clean_text),
        Rule("group_id", "Pers_Grp_ID", doc="uniqueidentifier of the clerk's group, as is"),
        Rule("is_admin", "Pers_istAdmin", parse_flag),
        Rule("can_administrate", "Pers_darfAdministration", parse_flag),
        Rule("can_manage_service_groups", "Pers_darfLeistungsgruppen", parse_flag),
        Rule("can_manage_priorities_sla", "Pers_darfPrioUndSLA", parse_flag),
        Rule("can_manage_customers", "Pers_darfKunden", parse_flag),
        Rule(
            "is_active",
            "Pers_Aktiv",
            parse_flag,
            doc="flag; NULL (missing or unreadable) → true, the documented is_active rule",
        ),
    ),
    notes=(
        "Key-less legacy table: copies quarantined as `duplicate` / `conflicting duplicate` "
        "by Pers_ID (the first by partition and content hash is kept).",
    ),
)

SCHEMA = pa.DataFrameSchema(
    {
        "id": checks.key_column(),
        "email": checks.text(checks=[checks.matches(checks.EMAIL, "not an e-mail address")]),
        "is_active": pa.Column(bool, nullable=False),
    },
    name="kgv.users",
)


class UsersLoader(RuleLoader):
    """Loads kgv.users."""

    mapping = MAPPING
    schema = SCHEMA

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:  # noqa: D102
        result = super().transform(staged, conn)
        result.rows["is_active"] = apply_is_active_default(result.rows["is_active"])
        return result
