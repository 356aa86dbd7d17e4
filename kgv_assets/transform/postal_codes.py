"""German postal codes: five digits.

A 4-digit code lost its leading zero (the legacy column was numeric somewhere on the way):
'1067' → '01067'. A country prefix is dropped: 'D-50667', 'D 50667', 'D50667' → '50667'.
Anything else → NULL, raw kept in legacy.
"""

from __future__ import annotations

import pandas as pd

from kgv_assets.transform.conversion import Converted, or_none

_PATTERN = r"^(?:[Dd]\s*-?\s*)?([0-9]{4,5})$"


def parse_postal_code(s: pd.Series) -> Converted:
    """5 digits; 4 digits get the lost leading zero; 'D-50667' → 50667; else NULL + legacy."""
    text = s.str.strip()
    digits = text.str.extract(_PATTERN, expand=False)
    values = or_none(digits.str.zfill(5), digits.notna()).astype(object)
    failed = digits.isna() & text.notna() & (text != "")
    reasons = pd.Series(None, index=s.index, dtype=object).mask(
        failed, "postal_code: not a German postal code"
    )
    return Converted(values, reasons)
