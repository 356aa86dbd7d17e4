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

from kgv_assets.transform.birthdays import century

_PATTERN = (
    r"^(?:A[Zz]\.?\s*)?(?P<district>[0-9A-Za-zÄÖÜäöüß]{1,10})\s*(?P<sep>[/-])\s*"
    r"(?P<number>[0-9]{1,6})\s*(?P=sep)\s*(?P<year>[0-9]{4}|[0-9]{2})$"
)


@dataclass(frozen=True)
class ParsedFileReference:
    """The parts of each file reference (NULL where the text has no known format)."""

    district_code: pd.Series
    number: pd.Series
    year: pd.Series


def parse_file_reference(s: pd.Series, today: dt.date | None = None) -> ParsedFileReference:
    """Split '32/0123/2019'-style references into district, number and year."""
    today = today or dt.date.today()
    parts = s.str.strip().str.extract(_PATTERN)
    number = pd.to_numeric(parts["number"], errors="coerce").astype("Int64")
    year = pd.to_numeric(parts["year"], errors="coerce").astype("Int64")
    short = parts["year"].str.len() == 2
    year = year.mask(short.fillna(False), century(year, today.year))
    return ParsedFileReference(parts["district"].astype(object), number, year)
