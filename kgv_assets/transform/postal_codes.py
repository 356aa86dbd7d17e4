"""German postal codes: five digits.

A 4-digit code lost its leading zero (the legacy column was numeric somewhere on the way):
'1067' → '01067'. A country prefix is dropped: 'D-50667', 'D 50667', 'D50667' → '50667'.
Anything else → NULL, raw kept in legacy.
"""

from __future__ import annotations

import pandas as pd
import polars as pl

from kgv_assets.transform.conversion import (
    WHITESPACE_CLASS,
    Converted,
    or_none,
    strip,
    text_series,
    to_polars,
)

_PATTERN = r"^(?:[Dd]\s*-?\s*)?([0-9]{4,5})$"
# The same in Rust: Python's \s spelled out (kgv_assets.transform.conversion).
_POLARS_PATTERN = _PATTERN.replace(r"\s", WHITESPACE_CLASS)
REASON = "postal_code: not a German postal code"


def parse_postal_code(s: pd.Series) -> Converted:
    """5 digits; 4 digits get the lost leading zero; 'D-50667' → 50667; else NULL + legacy.

    In polars; in pandas for what polars cannot hold (``conversion.to_polars``).
    """
    text = to_polars(s)
    if text is None:
        return _parse_postal_code_pandas(s)
    t, digits = pl.col("text"), pl.col("digits")
    out = (
        pl.DataFrame({"text": text})
        .with_columns(strip(t))
        .with_columns(digits=t.str.extract(_POLARS_PATTERN, 1))
        .select(
            value=digits.str.zfill(5),
            reason=pl.when(digits.is_null() & (t != "")).then(pl.lit(REASON)),
        )
    )
    return Converted(text_series(out["value"], s), text_series(out["reason"], s).rename(None))


def _parse_postal_code_pandas(s: pd.Series) -> Converted:
    """``parse_postal_code`` in pandas: for what polars cannot hold, and its tests' oracle."""
    text = s.str.strip()
    digits = text.str.extract(_PATTERN, expand=False)
    values = or_none(digits.str.zfill(5), digits.notna()).astype(object)
    failed = digits.isna() & text.notna() & (text != "")
    reasons = pd.Series(None, index=s.index, dtype=object).mask(failed, REASON)
    return Converted(values, reasons)
