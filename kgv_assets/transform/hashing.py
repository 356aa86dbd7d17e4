"""The content hash of a legacy row, the same code on every side (staging, target, checks).

Canonical form: the row's values as text (what the extractor delivers), column by column in
catalogue order. Each column is hashed with pandas' SipHash (``hash_array``, fixed key, so the
hash is stable across processes and runs), NULL gets its own constant (pandas would hash None
like the text 'None'), and the column hashes are folded in order (xor, then multiply), so a
value moving to another column changes the hash. Text that is not valid UTF-8 (surrogate
escapes from the source) is hashed by its original bytes. The result is an int64, to fit
PostgreSQL bigint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

_SEED = np.uint64(0xCBF29CE484222325)
_PRIME = np.uint64(0x100000001B3)
_NULL = np.uint64(0x9E3779B97F4A7C15)


def _column_hash(values: pd.Series) -> np.ndarray:
    array = values.to_numpy(dtype=object, na_value=None)  # type: ignore[arg-type]  # stubs
    null = pd.isna(array)
    text = np.where(null, "", array).astype(object)
    try:
        hashed = pd.util.hash_array(text, categorize=False)
    except UnicodeEncodeError:
        raw = np.array(
            [v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v for v in text],
            dtype=object,
        )
        hashed = pd.util.hash_array(raw, categorize=False)
    return np.where(null, _NULL, hashed)


def row_hash(df: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """A deterministic int64 content hash per row over ``columns`` (values as text or None)."""
    h = np.full(len(df), _SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in columns:
            h = (h ^ _column_hash(df[column])) * _PRIME
    return pd.Series(h.view(np.int64), index=df.index, name="row_hash")
