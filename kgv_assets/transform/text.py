"""Text: trimmed; empty or whitespace-only → NULL; letters never changed.

No lower-casing of names, no re-spacing inside a value: newlines and tabs inside text are
kept. Trimming removes leading and trailing white space only (Python's ``str.strip``).
"""

from __future__ import annotations

import pandas as pd

from kgv_assets.transform.conversion import Converted, or_none


def clean_text(s: pd.Series) -> Converted:
    """Trim; empty or whitespace-only → NULL; never changes letters (never fails)."""
    stripped = s.str.strip()
    values = or_none(stripped, stripped.notna() & (stripped != "")).astype(object)
    return Converted(values, pd.Series(None, index=s.index, dtype=object))
