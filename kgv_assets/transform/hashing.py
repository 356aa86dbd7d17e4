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

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

_SEED = np.uint64(0xCBF29CE484222325)
_PRIME = np.uint64(0x100000001B3)
_NULL = np.uint64(0x9E3779B97F4A7C15)
CONTENT_KEY = "0123456789123456"
"""The SipHash key of the content hash (pandas' default): staging, target and checks."""


def _column_hash(
    array: np.ndarray, null: np.ndarray | None = None, key: str = CONTENT_KEY
) -> np.ndarray:
    """SipHash of each value (str as UTF-8, bytes as they are), NULL as its own constant."""
    if null is None:
        null = pd.isna(array)
    values = np.where(null, "", array).astype(object)
    try:
        hashed = pd.util.hash_array(values, hash_key=key, categorize=False)
    except UnicodeEncodeError:
        raw = np.array(
            [v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v for v in values],
            dtype=object,
        )
        hashed = pd.util.hash_array(raw, hash_key=key, categorize=False)
    return np.where(null, _NULL, hashed)


def hash_columns(
    columns: Iterable[np.ndarray],
    nulls: Iterable[np.ndarray] | None = None,
    key: str = CONTENT_KEY,
) -> np.ndarray:
    """The int64 row hashes over columns of values (object arrays of str, bytes or None).

    A text and its UTF-8 bytes hash alike, so a row read as bytes (``resources.batches``) has
    the hash of the same row read as text. ``nulls`` (one boolean mask per column), where the
    caller has them, saves looking for NULLs again. ``key`` (16 characters) selects another
    SipHash function: the SQLite fingerprints use their own, so that they and the content
    checks do not share collisions (``kgv_assets.legacy.fingerprint``). The columns are folded
    one at a time: given as a generator, only one of them needs to exist at once (a batch of
    a wide table as Python bytes objects is hundreds of megabytes).
    """
    h: np.ndarray | None = None
    masks = iter(nulls) if nulls is not None else None
    with np.errstate(over="ignore"):
        for column in columns:
            null = next(masks) if masks is not None else None
            if h is None:
                h = np.full(len(column), _SEED, dtype=np.uint64)
            h = (h ^ _column_hash(column, null, key)) * _PRIME
    if h is None:  # no columns
        h = np.full(0, _SEED, dtype=np.uint64)
    return h.view(np.int64)


def row_hash(df: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """A deterministic int64 content hash per row over ``columns`` (values as text or None)."""
    arrays = [df[c].to_numpy(dtype=object, na_value=None) for c in columns]  # type: ignore[arg-type]
    return pd.Series(hash_columns(arrays), index=df.index, name="row_hash")
