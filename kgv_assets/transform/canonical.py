"""Phones and e-mails: parsed once per distinct value, and not again once written.

libphonenumber and email-validator check one value at a time in Python: they are the slowest
rules of the load, and the format checks (``kgv_assets.validation.rules.as_loaded``) parse the
loaded values a second time to prove that each is exactly what the converter writes. A written
value is a fixed point of its converter (parsing '+49221123456' gives '+49221123456', tested),
and whether a text is a fixed point depends on the text alone. So ``WrittenValues`` remembers
what a converter wrote in this process, and the next call maps those values to themselves
without parsing them again; any other value (one written to the target by anything else, or a
value from before this process started) is parsed in full as always.

The memory is 64-bit hashes of the values (polars' hash, which is stable within one process and
one polars version: all the memory needs; 8 bytes a value, sorted for lookup; bounded: past
``limit`` values it starts again, which costs time, never correctness); only ASCII values are
remembered, the others are always parsed. Two different texts with
the same hash would let a non-canonical value pass a check unparsed: with a million values on
each side the chance is about 1 in 20 million.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl

from kgv_assets.transform.conversion import or_none, to_polars

_PENDING_MAX = 262_144


_ASCII = r"[\x01-\x7f]+"


def _rememberable(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which values can be remembered, and their hashes (one conversion to polars for both).

    Rememberable: ASCII without NUL, text every hash reads as it is (no surrogates, no
    C-string end). Returns the mask over ``values`` and the hashes of the masked values.
    """
    text = to_polars(values.astype(object))
    if text is None:  # a value polars cannot hold: never rememberable, so the rest is ASCII
        mask = values.astype(object).str.fullmatch(_ASCII).fillna(False).astype(bool).to_numpy()
        text = pl.Series(values[mask].tolist(), dtype=pl.String)
    else:
        mask = text.str.contains(f"^{_ASCII}$").fill_null(False).to_numpy()
        text = text.filter(mask)
    return mask, text.hash(seed=0).to_numpy()


class WrittenValues:
    """Hashes of the values one converter wrote (see the module's docstring)."""

    def __init__(self, limit: int = 4_000_000) -> None:
        """Remember at most ``limit`` values (32 MB at the default)."""
        self.limit = limit
        self._sorted = np.empty(0, dtype=np.uint64)
        self._pending: list[np.ndarray] = []
        self._pending_size = 0

    def __len__(self) -> int:
        return len(self._sorted) + self._pending_size

    def clear(self) -> None:
        """Forget everything."""
        self._sorted = np.empty(0, dtype=np.uint64)
        self._pending.clear()
        self._pending_size = 0

    def add(self, values: pd.Series) -> None:
        """Remember the non-NULL ``values`` as written."""
        _, hashes = _rememberable(values.dropna())
        if not len(hashes):
            return
        if len(self) + len(hashes) > self.limit:
            self.clear()
        self._pending.append(hashes)
        self._pending_size += len(hashes)
        if self._pending_size >= max(_PENDING_MAX, len(self._sorted) // 4):
            self._merge()

    def _merge(self) -> None:
        # Timsort ("stable") merges the sorted runs in linear time; np.unique would sort the
        # whole memory again, and np.isin against the pending hashes sorted them per call
        # (2 s of a full load's phones at 1M rows).
        runs = [self._sorted, *(np.sort(p) for p in self._pending)]
        merged = np.sort(np.concatenate(runs), kind="stable")
        distinct = np.ones(len(merged), dtype=bool)
        distinct[1:] = merged[1:] != merged[:-1]
        self._sorted = merged[distinct]
        self._pending.clear()
        self._pending_size = 0

    def contains(self, values: pd.Series) -> np.ndarray:
        """A boolean array: which of ``values`` (no NULLs) were written."""
        eligible, wanted = _rememberable(values)
        found = np.zeros(len(values), dtype=bool)
        if not eligible.any():
            return found
        if self._pending:
            self._merge()
        hits = np.zeros(len(wanted), dtype=bool)
        if len(self._sorted):
            at = np.minimum(np.searchsorted(self._sorted, wanted), len(self._sorted) - 1)
            hits = self._sorted[at] == wanted
        found[eligible] = hits
        return found


def convert_distinct(
    text: pd.Series,
    parse: Callable[[str], str | None],
    written: WrittenValues,
    fast: Callable[[pd.Series], tuple[pd.Series, pd.Series]] | None = None,
) -> pd.Series:
    """``parse`` over the non-NULL ``text``, once per distinct value; NULL where it gives None.

    Values ``written`` before map to themselves unparsed; what ``parse`` writes now is added.
    ``fast``, a vectorised converter that decides some values exactly as ``parse`` would
    (it returns their values and a mask of the values it decided), runs first; ``parse`` sees
    only what it left.
    """
    distinct = pd.Series(text.dropna().unique(), dtype=object)
    known = written.contains(distinct)
    converted = or_none(distinct, pd.Series(known, index=distinct.index)).astype(object)
    todo = distinct[~known]
    fresh = pd.Series(None, index=todo.index, dtype=object)
    rest = pd.Series(True, index=todo.index)
    if fast is not None and len(todo):
        values, decided = fast(todo)
        fresh[decided] = values[decided]
        rest = ~decided
    fresh[rest] = todo[rest].map(parse)
    converted[~known] = fresh
    written.add(fresh)
    lookup = dict(zip(distinct, converted, strict=True))
    values = text.map(lookup).astype(object)
    return or_none(values, values.notna())
