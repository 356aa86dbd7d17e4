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
import polars as pl

from kgv_assets.transform.conversion import Converted, strip, to_polars

_FORMATS = {
    "dotted": r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{4})$",
    "dotted_short": r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{2})$",
    "iso": r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$",
    "compact": r"^(?P<d>[0-9]{2})(?P<m>[0-9]{2})(?P<y>[0-9]{4})$",
}
_SLASH = r"^[0-9]{1,2}/[0-9]{1,2}/(?:[0-9]{2}|[0-9]{4})$"
MIN_YEAR = 1900
NOT_RECOGNISED = "birthday: not a recognised date format"
SLASH = "birthday: slash format (day/month order unknowable)"
IMPOSSIBLE = "birthday: impossible date"
FUTURE = "birthday: in the future"
TOO_OLD = "birthday: before 1900"
# Years decided in polars; pandas decides the others (its calendar: 1677-09-22..2262-04-11).
_DECIDED_YEARS = (1700, 2200)


def century(yy: pd.Series, reference_year: int) -> pd.Series:
    """The century rule for two-digit years: YY > reference % 100 → 19YY, else 20YY."""
    return yy.where(yy > reference_year % 100, yy + 100) + 1900


def parse_birthday(s: pd.Series, today: dt.date | None = None) -> Converted:
    """Free-text birthday → date (see the module rules); anything unsure → NULL + legacy.

    The rules run in polars for every value whose year is between ``_DECIDED_YEARS`` (all but
    the odd typo); pandas decides the rest (its calendar ends in 1677 and 2262, where a date
    becomes "impossible"), and whole columns polars cannot hold (``conversion.to_polars``).
    """
    today = today or dt.date.today()
    text = to_polars(s)
    if text is None:
        return _parse_birthday_pandas(s, today)
    out = _birthdays(text, today)
    rest = (~out["decided"]).to_numpy()
    dates = out["date"].to_numpy().astype("datetime64[ns]")
    reasons = out["reason"].to_pandas().to_numpy()
    if rest.any():
        fallback = _parse_birthday_pandas(s[rest], today)
        dates[rest] = fallback.values.to_numpy()
        reasons[rest] = fallback.reasons.to_numpy()
    return Converted(
        pd.Series(dates, index=s.index), pd.Series(reasons, index=s.index, dtype=object)
    )


def century_expr(yy: pl.Expr, reference_year: int) -> pl.Expr:
    """``century`` as a polars expression."""
    return pl.when(yy > reference_year % 100).then(yy).otherwise(yy + 100) + 1900


def _birthdays(text: pl.Series, today: dt.date) -> pl.DataFrame:
    """The date, the reason and whether polars decided it, per value (see parse_birthday)."""
    t = pl.col("text")
    frame = pl.DataFrame({"text": text}).with_columns(strip(t))
    found: dict[str, list[pl.Expr]] = {"d": [], "m": [], "y": []}
    for name, pattern in _FORMATS.items():
        groups = t.str.extract_groups(pattern).struct
        frame = frame.with_columns(groups.field("d", "m", "y").name.suffix(f"_{name}"))
        y = pl.col(f"y_{name}").cast(pl.Int32)
        found["y"].append(century_expr(y, today.year) if name == "dotted_short" else y)
        found["d"].append(pl.col(f"d_{name}").cast(pl.Int32))
        found["m"].append(pl.col(f"m_{name}").cast(pl.Int32))
    # The first format that matches, as in pandas.
    frame = frame.select(t, *(pl.coalesce(e).alias(part) for part, e in found.items()))
    d, m, y = pl.col("d"), pl.col("m"), pl.col("y")
    iso = (
        y.cast(pl.String).str.zfill(4)
        + "-"
        + m.cast(pl.String).str.zfill(2)
        + "-"
        + d.cast(pl.String).str.zfill(2)
    )
    frame = frame.with_columns(
        date=iso.str.to_date("%Y-%m-%d", strict=False),
        present=t.is_not_null() & (t != ""),
        recognised=y.is_not_null(),
    )
    date, recognised = pl.col("date"), pl.col("recognised")
    future = date > pl.lit(today)
    too_old = y < MIN_YEAR
    not_recognised = pl.lit(NOT_RECOGNISED)
    reason = (
        pl.when(~pl.col("present"))
        .then(None)
        .when(~recognised)
        .then(pl.when(t.str.contains(_SLASH)).then(pl.lit(SLASH)).otherwise(not_recognised))
        .when(date.is_null())
        .then(pl.lit(IMPOSSIBLE))
        .when(too_old)
        .then(pl.lit(TOO_OLD))
        .when(future)
        .then(pl.lit(FUTURE))
    )
    decided = (~recognised | y.is_between(*_DECIDED_YEARS)).fill_null(True)
    return frame.with_columns(reason=reason).select(
        pl.when(decided & pl.col("reason").is_null()).then(date).alias("date"),
        pl.when(decided).then(pl.col("reason")).alias("reason"),
        decided.alias("decided"),
    )


def _parse_birthday_pandas(s: pd.Series, today: dt.date) -> Converted:
    """``parse_birthday`` in pandas: for what polars leaves, and the oracle of its tests."""
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
    reasons[present & ~recognised] = NOT_RECOGNISED
    reasons[present & text.str.fullmatch(_SLASH, na=False)] = SLASH
    reasons[recognised & dates.isna()] = IMPOSSIBLE
    reasons[recognised & future.fillna(False)] = FUTURE
    reasons[recognised & too_old.fillna(False) & dates.notna()] = TOO_OLD
    return Converted(dates.where(ok), reasons)
