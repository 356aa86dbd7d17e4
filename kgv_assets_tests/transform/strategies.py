"""Hypothesis strategies for legacy free text (shared by the transformation tests)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from hypothesis import strategies as st

legacy_text = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.from_regex(r"[0-9 ./\-+()a-zA-Z,m²]{0,20}", fullmatch=True),
)


def series(values: Sequence[str | None]) -> pd.Series:
    """An object Series with a non-trivial index (labels must survive)."""
    return pd.Series(values, index=[f"r{i}" for i in range(len(values))], dtype=object)


def assert_contract(s: pd.Series, result) -> None:
    """The Converted contract: same index; a value or a reason, never both; NULL in, NULL out."""
    assert list(result.values.index) == list(s.index)
    assert list(result.reasons.index) == list(s.index)
    both = result.values.notna() & result.reasons.notna()
    assert not both.any()
    blank = s.isna() | (s.str.strip() == "")
    assert result.values[blank].isna().all()
    assert result.reasons[blank].isna().all()
