"""Eingangsnummer → kgv.entry_numbers."""

from __future__ import annotations

from kgv_assets.layout import target_table
from kgv_assets.transform.numbers import parse_positive_int, parse_year
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import Rule, RuleLoader, TableMapping, key_rule
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("entry_numbers"),
    rules=(
        key_rule("enr_ID"),
        Rule("district_code", "enr_Bezirk", clean_text),
        Rule("number", "enr_Nummer", parse_positive_int),
        Rule("year", "enr_Jahr", parse_year),
    ),
)


class EntryNumbersLoader(RuleLoader):
    """Loads kgv.entry_numbers."""

    mapping = MAPPING
    schema = checks.target_schema(MAPPING)
