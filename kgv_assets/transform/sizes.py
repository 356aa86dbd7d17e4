"""Plot sizes (verl_Groesse) → numeric square metres.

Accepted: a number with an optional unit 'm²', 'm2', 'qm' (any case, optional space):
'250 m²', '250m2', '250 qm'. Decimal comma: '250,5' → 250.5. German thousands separator: a dot
followed by exactly three digits: '1.200' → 1200, '1.200,5' → 1200.5. A dot followed by one or
two digits is a decimal point ('250.5'). Approximate values ('ca. 300'), ranges, words,
zero and negative sizes → NULL, raw kept in legacy: a size is never guessed.
"""

from __future__ import annotations

import pandas as pd

from kgv_assets.transform.conversion import Converted

_NUMBER = (
    r"^(?P<int>[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)"
    r"(?:(?P<sep>[,.])(?P<frac>[0-9]+))?"
    r"\s*(?:m²|m2|qm)?$"
)


def parse_size_m2(s: pd.Series) -> Converted:
    """'250 m²', '250,5', '1.200' (thousands) → square metres; unparseable → NULL + legacy."""
    text = s.str.strip()
    parts = text.str.lower().str.extract(_NUMBER)
    # '1.200' matched as int '1' + sep '.' + frac '200' is a thousands group, not a decimal.
    thousands = (parts["sep"] == ".") & parts["frac"].str.len().eq(3) & parts["int"].str.len().le(3)
    whole = parts["int"].str.replace(".", "", regex=False)
    whole = whole.where(~thousands, whole + parts["frac"])
    frac = parts["frac"].where(~thousands)
    number = whole + ("." + frac).fillna("")
    values = pd.to_numeric(number, errors="coerce")
    ok = values.notna() & (values > 0)
    failed = text.notna() & (text != "") & ~ok
    reasons = pd.Series(None, index=s.index, dtype=object).mask(
        failed, "size_m2: not a size in square metres"
    )
    return Converted(values.where(ok).astype("Float64"), reasons)
