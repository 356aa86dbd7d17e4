"""Staged integers: numbers and years (Aktenzeichen, Eingangsnummer).

Staged int columns already hold valid 32-bit integers (the legacy schema checked them), so the
only rule is plausibility: a year outside [1900, 2100] (0 in the legacy data means "none")
becomes NULL with the raw value kept in ``legacy``; a number must be positive.
"""

from __future__ import annotations

import pandas as pd

from kgv_assets.transform.conversion import Converted

MIN_YEAR = 1900
MAX_YEAR = 2100


def _ints(s: pd.Series) -> pd.Series:
    """Whole numbers written as digits; anything else (decimals, exponents, words) → NA."""
    digits = s.str.strip().where(s.str.strip().str.fullmatch(r"[+-]?[0-9]{1,18}", na=False))
    return pd.to_numeric(digits, errors="coerce").astype("Int64")


def _present(s: pd.Series) -> pd.Series:
    return s.notna() & (s.str.strip() != "")


def parse_year(s: pd.Series) -> Converted:
    """Year between 1900 and 2100; anything else NULL (raw kept)."""
    n = _ints(s)
    ok = n.between(MIN_YEAR, MAX_YEAR).fillna(False)
    failed = _present(s) & ~ok
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[failed] = f"year: outside {MIN_YEAR}..{MAX_YEAR}"
    return Converted(n.where(ok), reasons)


def parse_positive_int(s: pd.Series) -> Converted:
    """A positive whole number; zero, negatives NULL (raw kept)."""
    n = _ints(s)
    ok = (n > 0).fillna(False)
    failed = _present(s) & ~ok
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[failed] = "number: not a positive whole number"
    return Converted(n.where(ok), reasons)
