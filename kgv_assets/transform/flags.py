"""Flags (legacy char(1)): J/j/Y/y/1 → true, N/n/0 → false, anything else → NULL + legacy.

The documented default for ``is_active``: a NULL (missing or unreadable) flag means active
(true). It is applied by ``apply_is_active_default`` and nowhere else, the same way for
applications and users.
"""

from __future__ import annotations

import pandas as pd

from kgv_assets.transform.conversion import Converted

TRUE = frozenset({"J", "j", "Y", "y", "1"})
FALSE = frozenset({"N", "n", "0"})
_MAP = {**dict.fromkeys(TRUE, True), **dict.fromkeys(FALSE, False)}


def parse_flag(s: pd.Series) -> Converted:
    """J/j/Y/y/1 → true, N/n/0 → false (trimmed); anything else → NULL + legacy."""
    text = s.str.strip()
    blank = text.isna() | (text == "")
    values = text.map(_MAP).astype("boolean")
    failed = values.isna() & ~blank
    reasons = pd.Series(None, index=s.index, dtype=object).mask(failed, "flag: not J/N/1/0")
    return Converted(values, reasons)


def apply_is_active_default(values: pd.Series) -> pd.Series:
    """The documented rule: ``is_active`` NULL → true."""
    return values.astype("boolean").fillna(True).astype(bool)
