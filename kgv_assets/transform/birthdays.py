"""Birthdays: free text → date, only where the text says exactly which day.

Accepted: D.M.YYYY and DD.MM.YYYY ('5.6.1970', '05.06.1970'), YYYY-MM-DD ('1970-06-05'),
DDMMYYYY ('05061970'), and D.M.YY / DD.MM.YY with the century rule: YY greater than the last
two digits of the reference year (today's year unless given) means 19YY, otherwise 20YY
('12.5.80' → 1980-05-12; '3.4.05' → 2005-04-03). The reference year is a parameter so the
rule is testable and stable.

Rejected (NULL, raw kept in legacy), each with its reason: impossible dates ('31.04.1975',
'29.02.1981'); slash formats ('05/06/1970': day/month order cannot be known, never guessed);
vague text ('ca. 1960', 'unbekannt', '1960'); dates in the future; years before 1900.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from kgv_assets.transform.conversion import Converted

_FORMATS = {
    "dotted": r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{4})$",
    "dotted_short": r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{2})$",
    "iso": r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$",
    "compact": r"^(?P<d>[0-9]{2})(?P<m>[0-9]{2})(?P<y>[0-9]{4})$",
}
_SLASH = r"^[0-9]{1,2}/[0-9]{1,2}/(?:[0-9]{2}|[0-9]{4})$"
MIN_YEAR = 1900


def century(yy: pd.Series, reference_year: int) -> pd.Series:
    """The century rule for two-digit years: YY > reference % 100 → 19YY, else 20YY."""
    return yy.where(yy > reference_year % 100, yy + 100) + 1900


def parse_birthday(s: pd.Series, today: dt.date | None = None) -> Converted:
    """Free-text birthday → date (see the module rules); anything unsure → NULL + legacy."""
    today = today or dt.date.today()
    text = s.str.strip()
    present = text.notna() & (text != "")
    d = pd.Series(pd.NA, index=s.index, dtype="Int64")
    m = d.copy()
    y = d.copy()
    for name, pattern in _FORMATS.items():
        parts = text.str.extract(pattern).apply(pd.to_numeric).astype("Int64")
        hit = parts["y"].notna() & y.isna()
        if name == "dotted_short":
            parts["y"] = century(parts["y"], today.year)
        d, m, y = d.mask(hit, parts["d"]), m.mask(hit, parts["m"]), y.mask(hit, parts["y"])
    recognised = y.notna()
    iso = (
        y.astype("string").str.zfill(4)
        + "-"
        + m.astype("string").str.zfill(2)
        + "-"
        + d.astype("string").str.zfill(2)
    )
    dates = pd.to_datetime(iso.where(recognised), format="%Y-%m-%d", errors="coerce")
    future = dates > pd.Timestamp(today)
    too_old = y < MIN_YEAR
    ok = dates.notna() & ~future & ~too_old.fillna(False)
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[present & ~recognised] = "birthday: not a recognised date format"
    reasons[present & text.str.fullmatch(_SLASH, na=False)] = (
        "birthday: slash format (day/month order unknowable)"
    )
    reasons[recognised & dates.isna()] = "birthday: impossible date"
    reasons[recognised & future.fillna(False)] = "birthday: in the future"
    reasons[recognised & too_old.fillna(False) & dates.notna()] = "birthday: before 1900"
    return Converted(dates.where(ok), reasons)
