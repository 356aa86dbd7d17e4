"""Staged integers: numbers and years (Aktenzeichen, Eingangsnummer).

Staged int columns already hold valid 32-bit integers (the legacy schema checked them), so the
only rule is plausibility: a year outside [1900, 2100] (0 in the legacy data means "none")
becomes NULL with the raw value kept in ``legacy``; a number must be positive.
"""

from __future__ import annotations

import pandas as pd
import polars as pl

from kgv_assets.transform.conversion import Converted, int_series, strip, to_polars

MIN_YEAR = 1900
MAX_YEAR = 2100


YEAR = f"year: outside {MIN_YEAR}..{MAX_YEAR}"
POSITIVE = "number: not a positive whole number"
_WHOLE = r"[+-]?[0-9]{1,18}"
# Whole numbers polars reads: those of 16 to 18 digits pandas reads as floats where the column
# has a NULL (its dtype is the column's), so a column with one goes to pandas.
_EXACT, _LONG = r"^[+-]?[0-9]{1,15}$", r"^[+-]?[0-9]{16,18}$"


def _ints(s: pd.Series) -> pd.Series:
    """Whole numbers written as digits; anything else (decimals, exponents, words) → NA."""
    digits = s.str.strip().where(s.str.strip().str.fullmatch(_WHOLE, na=False))
    return pd.to_numeric(digits, errors="coerce").astype("Int64")


def _present(s: pd.Series) -> pd.Series:
    return s.notna() & (s.str.strip() != "")


def _polars_ints(s: pd.Series) -> pl.DataFrame | None:
    """The numbers (``n``) and whether each value is present; None where pandas decides."""
    text = to_polars(s)
    if text is None:
        return None
    t = pl.col("text")
    frame = (
        pl.DataFrame({"text": text})
        .with_columns(strip(t))
        .select(
            n=pl.when(t.str.contains(_EXACT)).then(t.cast(pl.Int64, strict=False)),
            present=(t.is_not_null() & (t != "")).fill_null(False),
            long=t.str.contains(_LONG).fill_null(False),
        )
    )
    return None if frame["long"].any() else frame


def _converted(s: pd.Series, frame: pl.DataFrame, ok: pl.Expr, reason: str) -> Converted:
    out = frame.select(
        value=pl.when(ok).then(pl.col("n")),
        reason=pl.when(pl.col("present") & ~ok.fill_null(False)).then(pl.lit(reason)),
    )
    reasons = pd.Series(out["reason"].to_list(), index=s.index, dtype=object)
    return Converted(int_series(out["value"], s), reasons)


def parse_year(s: pd.Series) -> Converted:
    """Year between 1900 and 2100; anything else NULL (raw kept)."""
    frame = _polars_ints(s)
    if frame is None:
        return _parse_year_pandas(s)
    return _converted(s, frame, pl.col("n").is_between(MIN_YEAR, MAX_YEAR), YEAR)


def _parse_year_pandas(s: pd.Series) -> Converted:
    """``parse_year`` in pandas: for what polars leaves, and its tests' oracle."""
    n = _ints(s)
    ok = n.between(MIN_YEAR, MAX_YEAR).fillna(False)
    failed = _present(s) & ~ok
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[failed] = YEAR
    return Converted(n.where(ok), reasons)


def parse_positive_int(s: pd.Series) -> Converted:
    """A positive whole number; zero, negatives NULL (raw kept)."""
    frame = _polars_ints(s)
    if frame is None:
        return _parse_positive_int_pandas(s)
    return _converted(s, frame, pl.col("n") > 0, POSITIVE)


def _parse_positive_int_pandas(s: pd.Series) -> Converted:
    """``parse_positive_int`` in pandas: for what polars leaves, and its tests' oracle."""
    n = _ints(s)
    ok = (n > 0).fillna(False)
    failed = _present(s) & ~ok
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[failed] = POSITIVE
    return Converted(n.where(ok), reasons)
