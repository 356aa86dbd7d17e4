r"""The result type every transformation function returns, and the polars bridge of the rules.

Rules take and return pandas Series (the loaders' chunks are pandas). The hot rules do their
work in polars (issue 12: vectorised in Rust, no Python call per value): ``to_polars`` hands a
staged text column over once, and the rule converts its results back. Where polars cannot hold
a column (lone surrogates, the source reader's escapes of invalid UTF-8; anything that is not
str or None) ``to_polars`` gives None and the rule runs its pandas implementation, which is
also the oracle its differential tests compare the polars implementation with.

Python's ``str.strip`` and ``re``'s ``\s`` know a different white space than Rust's
(``str.isspace``: also the separators U+001C..U+001F, which Unicode's White_Space lacks), so
the polars rules name Python's set explicitly: ``WHITESPACE`` and ``WHITESPACE_CLASS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
import polars as pl

Frame = TypeVar("Frame", pd.Series, pd.DataFrame)
_NONE = np.array(None, dtype=object)

# str.isspace: every such character is below U+3001 (kgv_assets_tests/transform/
# test_polars_rules.py checks the whole range).
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
r"""The characters Python's ``str.strip()`` removes (and ``re``'s ``\s`` matches)."""
WHITESPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in WHITESPACE) + "]"
r"""``WHITESPACE`` as a Rust regex character class: Python's ``\s`` in a polars pattern."""


def to_polars(s: pd.Series) -> pl.Series | None:
    """An object Series of str/None as a polars String Series; None if polars cannot hold it.

    None for an empty Series too: pandas gives an empty result its own index type, and
    nothing is gained in polars.
    """
    if s.dtype != object or s.empty:
        return None
    try:
        return pl.Series("", s.tolist(), dtype=pl.String, strict=True)
    except (TypeError, ValueError, UnicodeError, pl.exceptions.PolarsError):
        return None


def untrimmed(text: pl.Series) -> np.ndarray:
    """True where a value starts or ends with white space, or is empty (NULL: False)."""
    found = (text.str.strip_chars(WHITESPACE).str.len_bytes() != text.str.len_bytes()) | (
        text == ""
    )
    return found.fill_null(False).to_numpy()


def replaced(s: pd.Series, where: np.ndarray, values: pd.Series) -> pd.Series:
    """``s`` (object) with ``values`` at the positions ``where`` holds (a numpy mask)."""
    array = s.to_numpy(dtype=object, copy=True)
    array[where] = values.to_numpy(dtype=object)
    return pd.Series(array, index=s.index, name=s.name, dtype=object)


def stripped(s: pd.Series) -> pd.Series:
    """``s.str.strip()``, the same values: polars finds the few that need it, Python strips them."""
    text = to_polars(s)
    if text is None:
        return s.str.strip()
    todo = untrimmed(text)
    return replaced(s, todo, s[todo].str.strip()) if todo.any() else s.copy()


def no_reasons(like: pd.Series) -> pd.Series:
    """The reasons of a column where nothing failed: None for every row of ``like``."""
    return pd.Series(None, index=like.index, dtype=object)


def strip(text: pl.Expr) -> pl.Expr:
    """``str.strip()`` with Python's white space, as a polars expression."""
    return text.str.strip_chars(WHITESPACE)


def text_series(values: pl.Series, like: pd.Series) -> pd.Series:
    """A polars String Series back as an object Series of str/None, labelled like ``like``."""
    return pd.Series(values.to_pandas().to_numpy(), index=like.index, name=like.name, dtype=object)


def int_series(values: pl.Series, like: pd.Series) -> pd.Series:
    """A polars integer Series back as a pandas Int64 Series (NULL: <NA>) labelled like ``like``."""
    array = pd.arrays.IntegerArray(
        values.cast(pl.Int64).fill_null(0).to_numpy(), values.is_null().to_numpy()
    )
    return pd.Series(array, index=like.index, name=like.name)


def nan_text_series(values: pl.Series, like: pd.Series) -> pd.Series:
    """Like ``text_series`` but NaN for NULL, as pandas' ``str.extract`` gives."""
    array = values.to_pandas().to_numpy()
    array[values.is_null().to_numpy()] = np.nan
    return pd.Series(array, index=like.index, name=like.name, dtype=object)


def or_none(values: Frame, keep: pd.Series | pd.DataFrame) -> Frame:
    """``values`` where ``keep`` holds, None elsewhere (None, not NaN, in object columns).

    pandas takes None as the replacement value; pandas-stubs does not admit it, hence the one
    ignore here rather than at every caller.
    """
    return values.where(keep, None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Converted:
    """Values converted from one legacy column, and why some could not be converted.

    ``values`` and ``reasons`` share the input's index. A NULL (or blank) input gives a NULL
    value and no reason. An input that could not be converted gives a NULL value and a short
    reason (for example ``"birthday: impossible date"``); the caller keeps the raw value in the
    target row's ``legacy`` jsonb. Reasons never contain the value itself (it may be personal
    data): only what was wrong with it.
    """

    values: pd.Series
    reasons: pd.Series

    def __post_init__(self) -> None:
        """Reasons are str or None (never NaN), whatever pandas did on the way."""
        reasons = self.reasons.astype(object)
        array = reasons.to_numpy()
        missing = pd.isna(array)
        if not np.equal(array[missing], _NONE).all():  # NaN, NA: make them None
            object.__setattr__(self, "reasons", or_none(reasons, ~missing))
        else:
            object.__setattr__(self, "reasons", reasons)

    @property
    def failed(self) -> pd.Series:
        """True where a non-NULL input could not be converted."""
        return self.reasons.notna()
