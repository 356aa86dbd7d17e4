"""File references (an_Aktenzeichen) → district code, number and year.

Known formats (optional prefix 'AZ' or 'Az.'; spaces around the separators allowed):
'<district>/<number>/<year>' ('32/0123/2019') and '<district>-<number>-<year>'
('33-45-2018'). The district is 1 to 10 letters or digits; the number 1 to 6 digits (leading zeros
dropped); the year four digits, or two digits with the birthday century rule ('32/12/19' →
2019). Text in any other form is not an error: it is kept as written in ``file_reference``
and simply not linked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import polars as pl

from kgv_assets.transform.birthdays import century, century_expr
from kgv_assets.transform.conversion import (
    WHITESPACE_CLASS,
    int_series,
    nan_text_series,
    strip,
    to_polars,
)

_PATTERN = (
    r"^(?:A[Zz]\.?\s*)?(?P<district>[0-9A-Za-zÄÖÜäöüß]{1,10})\s*(?P<sep>[/-])\s*"
    r"(?P<number>[0-9]{1,6})\s*(?P=sep)\s*(?P<year>[0-9]{4}|[0-9]{2})$"
)
_POLARS_PATTERN = _PATTERN.replace("(?P=sep)", "(?P<sep2>[/-])").replace(r"\s", WHITESPACE_CLASS)


@dataclass(frozen=True)
class ParsedFileReference:
    """The parts of each file reference (NULL where the text has no known format)."""

    district_code: pd.Series
    number: pd.Series
    year: pd.Series


def parse_file_reference(s: pd.Series, today: dt.date | None = None) -> ParsedFileReference:
    """Split '32/0123/2019'-style references into district, number and year.

    Split in polars (in pandas where polars cannot hold the column). Rust's regex has no
    back-reference, so the polars pattern captures both separators and keeps the matches where
    they agree: a separator is the only '/' or '-' at its place, so that is the same match.
    """
    today = today or dt.date.today()
    text = to_polars(s)
    if text is None:
        return _parse_file_reference_pandas(s, today)
    t, same, year = pl.col("text"), pl.col("sep") == pl.col("sep2"), pl.col("year")
    parts = (
        pl.DataFrame({"text": text})
        .with_columns(strip(t))
        .select(t.str.extract_groups(_POLARS_PATTERN).alias("parts"))
        .unnest("parts")
        .select(
            district=pl.when(same).then(pl.col("district")),
            number=pl.when(same).then(pl.col("number").cast(pl.Int64)),
            year=pl.when(same & (year.str.len_chars() == 2))
            .then(century_expr(year.cast(pl.Int64), today.year))
            .when(same)
            .then(year.cast(pl.Int64)),
        )
    )
    return ParsedFileReference(
        nan_text_series(parts["district"], s).rename("district"),
        int_series(parts["number"], s).rename("number"),
        int_series(parts["year"], s).rename("year"),
    )


def _parse_file_reference_pandas(s: pd.Series, today: dt.date) -> ParsedFileReference:
    """``parse_file_reference`` in pandas: for what polars cannot hold, and its tests' oracle."""
    parts = s.str.strip().str.extract(_PATTERN)
    number = pd.to_numeric(parts["number"], errors="coerce").astype("Int64")
    year = pd.to_numeric(parts["year"], errors="coerce").astype("Int64")
    short = parts["year"].str.len() == 2
    year = year.mask(short.fillna(False), century(year, today.year))
    return ParsedFileReference(parts["district"].astype(object), number, year)
