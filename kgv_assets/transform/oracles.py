"""Each transformation rule that runs in polars, and the pandas implementation it keeps.

A polars rule decides the values it can decide exactly and hands the rest (odd spellings,
surrogate-escaped text) to its pandas implementation, today's rule before polars. That
implementation is also the oracle: ``kgv_assets_tests/transform/test_polars_rules.py`` checks
that both give the same on every input, and ``bench.rules`` times one against the other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pandas as pd

from kgv_assets.transform import birthdays, dates, numbers, postal_codes, sizes, text
from kgv_assets.transform.conversion import Converted
from kgv_assets.transform.tables.mapping import TableMapping

Rule = Callable[[pd.Series], Converted]

ORACLES: dict[Rule, Rule] = {
    text.clean_text: text._clean_text_pandas,
    birthdays.parse_birthday: lambda s: birthdays._parse_birthday_pandas(s, dt.date.today()),
    dates.parse_legacy_datetime: dates._parse_legacy_datetime_pandas,
    postal_codes.parse_postal_code: postal_codes._parse_postal_code_pandas,
    sizes.parse_size_m2: sizes._parse_size_m2_pandas,
    numbers.parse_year: numbers._parse_year_pandas,
    numbers.parse_positive_int: numbers._parse_positive_int_pandas,
}


def with_oracles(mapping: TableMapping) -> TableMapping:
    """``mapping`` with today's pandas rules in place of the polars ones."""
    rules = tuple(
        dataclasses.replace(r, convert=ORACLES.get(r.convert, r.convert)) if r.convert else r
        for r in mapping.rules
    )
    return dataclasses.replace(mapping, rules=rules)
