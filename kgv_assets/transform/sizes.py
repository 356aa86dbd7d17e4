"""Plot sizes (verl_Groesse) → numeric square metres.

Accepted: a number with an optional unit 'm²', 'm2', 'qm' (any case, optional space):
'250 m²', '250m2', '250 qm'. Decimal comma: '250,5' → 250.5. German thousands separator: a dot
followed by exactly three digits: '1.200' → 1200, '1.200,5' → 1200.5. A dot followed by one or
two digits is a decimal point ('250.5'). Approximate values ('ca. 300'), ranges, words,
zero and negative sizes → NULL, raw kept in legacy: a size is never guessed.
"""

from __future__ import annotations

import pandas as pd
import polars as pl

from kgv_assets.transform.conversion import (
    WHITESPACE_CLASS,
    Converted,
    nan_text_series,
    strip,
    to_polars,
)

_NUMBER = (
    r"^(?P<int>[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)"
    r"(?:(?P<sep>[,.])(?P<frac>[0-9]+))?"
    r"\s*(?:m²|m2|qm)?$"
)
# The same in Rust on the text as written: Python's \s spelled out, and the unit in either case
# instead of lower-casing the text (only 'M' and 'Q' lower-case to a character of the pattern).
_POLARS_NUMBER = _NUMBER.replace(r"\s", WHITESPACE_CLASS).replace(
    "(?:m²|m2|qm)", "(?:[mM]²|[mM]2|[qQ][mM])"
)
REASON = "size_m2: not a size in square metres"


def parse_size_m2(s: pd.Series) -> Converted:
    """'250 m²', '250,5', '1.200' (thousands) → square metres; unparseable → NULL + legacy.

    The text is taken apart in polars (pandas where polars cannot hold the column); the
    number it gives is read by ``pandas.to_numeric`` on either path, so every float is rounded
    alike.
    """
    text = to_polars(s)
    if text is None:
        return _parse_size_m2_pandas(s)
    t, whole, sep, frac = pl.col("text"), pl.col("int"), pl.col("sep"), pl.col("frac")
    thousands = (sep == ".") & (frac.str.len_chars() == 3) & (whole.str.len_chars() <= 3)
    digits = whole.str.replace_all(".", "", literal=True)
    out = (
        pl.DataFrame({"text": text})
        .with_columns(strip(t))
        .with_columns(t.str.extract_groups(_POLARS_NUMBER).alias("parts"))
        .unnest("parts")
        .select(
            present=t.is_not_null() & (t != ""),
            number=pl.when(thousands)
            .then(digits + frac)
            .otherwise(digits + pl.concat_str(pl.lit("."), frac).fill_null("")),
        )
    )
    number = nan_text_series(out["number"], s).rename(None)  # unnamed, as in pandas
    return _size(number, pd.Series(out["present"].to_numpy()))


def _size(number: pd.Series, present: pd.Series) -> Converted:
    """The size from the number as text ('1200.5'; NaN: none), and the reasons."""
    values = pd.to_numeric(number, errors="coerce")
    ok = values.notna() & (values > 0)
    failed = present.set_axis(number.index) & ~ok
    reasons = pd.Series(None, index=number.index, dtype=object).mask(failed, REASON)
    return Converted(values.where(ok).astype("Float64"), reasons)


def _parse_size_m2_pandas(s: pd.Series) -> Converted:
    """``parse_size_m2`` in pandas: for what polars cannot hold, and its tests' oracle."""
    text = s.str.strip()
    parts = text.str.lower().str.extract(_NUMBER)
    # '1.200' matched as int '1' + sep '.' + frac '200' is a thousands group, not a decimal.
    thousands = (parts["sep"] == ".") & parts["frac"].str.len().eq(3) & parts["int"].str.len().le(3)
    whole = parts["int"].str.replace(".", "", regex=False)
    whole = whole.where(~thousands, whole + parts["frac"])
    frac = parts["frac"].where(~thousands)
    number = whole + ("." + frac).fillna("")
    return _size(number, text.notna() & (text != ""))
