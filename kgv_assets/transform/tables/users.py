"""Personen → kgv.users (the clerks)."""

from __future__ import annotations

import pandas as pd
import psycopg

from kgv_assets.layout import target_table
from kgv_assets.transform.emails import parse_email
from kgv_assets.transform.flags import apply_is_active_default, parse_flag
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import (
    Rule,
    RuleLoader,
    TableMapping,
    Transformed,
    copies_note,
    key_rule,
    text_rules,
)
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("users"),
    rules=(
        key_rule("Pers_ID"),
        *text_rules(
            salutation="Pers_Anrede",
            first_name="Pers_Vorname",
            last_name="Pers_Nachname",
            employee_number="Pers_Nummer",
            department="Pers_Organisationseinheit",
            room="Pers_Zimmer",
        ),
        Rule(
            "phone",
            "Pers_Telefon",
            clean_text,
            doc="internal extension (varchar(10)): trimmed text, not E.164",
        ),
        Rule("fax", "Pers_FAX", clean_text, doc="internal extension: trimmed text"),
        Rule("email", "Pers_Email", parse_email),
        *text_rules(
            dictation_code="Pers_Diktatzeichen",
            signature="Pers_Unterschrift",
            job_title="Pers_Dienstbezeichnung",
        ),
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
    notes=(copies_note("Pers_ID"),),
)

SCHEMA = checks.target_schema(MAPPING, email=checks.email(), is_active=checks.active_flag())


class UsersLoader(RuleLoader):
    """Loads kgv.users."""

    mapping = MAPPING
    schema = SCHEMA

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:  # noqa: D102
        result = super().transform(staged, conn)
        result.rows["is_active"] = apply_is_active_default(result.rows["is_active"])
        return result
