"""Text: trimmed; empty or whitespace-only → NULL; letters never changed.

No lower-casing of names, no re-spacing inside a value: newlines and tabs inside text are
kept. Trimming removes leading and trailing white space only (Python's ``str.strip``).
"""

from __future__ import annotations

import pandas as pd

from kgv_assets.transform.conversion import (
    Converted,
    no_reasons,
    or_none,
    replaced,
    to_polars,
    untrimmed,
)


def clean_text(s: pd.Series) -> Converted:
    """Trim; empty or whitespace-only → NULL; never changes letters (never fails).

    Almost every staged value needs no trimming, so polars only finds the values that do
    (empty, or white space at either end: ``conversion.WHITESPACE``, Python's set); those few
    are trimmed by ``str.strip`` itself and every other value is kept as it is.
    """
    text = to_polars(s)
    if text is None:
        return _clean_text_pandas(s)
    todo = untrimmed(text)
    values = replaced(s, todo, _clean_text_pandas(s[todo]).values) if todo.any() else s.copy()
    return Converted(values, no_reasons(s))


def _clean_text_pandas(s: pd.Series) -> Converted:
    """``clean_text`` in pandas: for what polars cannot hold, and the oracle of its tests."""
    stripped = s.str.strip()
    values = or_none(stripped, stripped.notna() & (stripped != "")).astype(object)
    return Converted(values, no_reasons(s))
