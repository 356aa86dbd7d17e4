r"""Encode DataFrames as PostgreSQL COPY text format, vectorised per column.

COPY ``FORMAT text``: columns separated by tab, rows by newline, NULL as ``\N``; a backslash,
newline, carriage return or tab inside a value is written as ``\\``, ``\n``, ``\r``, ``\t``.
So ``\N`` and ``\.`` inside a value (or as the whole value) survive as the text they are. NUL
cannot be sent at all: PostgreSQL text cannot hold it, so callers quarantine such rows before
encoding (``encode_copy_text`` refuses them rather than alter them).
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

NULL = "\\N"


def _escape(s: pd.Series) -> pd.Series:
    return (
        s.str.replace("\\", "\\\\", regex=False)
        .str.replace("\n", "\\n", regex=False)
        .str.replace("\r", "\\r", regex=False)
        .str.replace("\t", "\\t", regex=False)
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def column_as_text(s: pd.Series) -> pd.Series:
    r"""One column as COPY text (NULL → ``\N``), chosen by dtype.

    Strings are escaped; booleans become t/f; integers and floats their decimal text;
    timezone-aware timestamps ISO 8601 with offset; dicts and lists JSON (for jsonb).
    """
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.map({True: "t", False: "f"}).astype(object)
    elif pd.api.types.is_integer_dtype(s.dtype):
        out = s.astype("Int64").astype(str).astype(object).where(s.notna())
    elif pd.api.types.is_float_dtype(s.dtype):
        out = s.map(repr).astype(object).where(s.notna())
    elif isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.map(lambda t: t.isoformat(), na_action="ignore").astype(object)
    elif pd.api.types.is_datetime64_dtype(s.dtype):
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype(object).where(s.notna())
    else:
        out = _object_as_text(s)
    return out.fillna(NULL)


def _object_as_text(s: pd.Series) -> pd.Series:
    """Object columns: mostly str (escaped); other Python values converted by type."""
    notna = s.notna()
    is_str = s.map(type).eq(str)
    out = s.where(is_str)
    out = _escape(out.astype(object)) if is_str.any() else out.astype(object)
    other = s[notna & ~is_str]
    if len(other):
        out.loc[other.index] = _escape(other.map(_value_as_text))
    return out.where(notna)


def _value_as_text(v: object) -> str:
    if isinstance(v, bool | np.bool_):
        return "t" if v else "f"
    if isinstance(v, dict | list):
        return _json(v)
    if isinstance(v, dt.datetime | dt.date | pd.Timestamp):
        return v.isoformat()
    return str(v)


def encode_copy_text(df: pd.DataFrame) -> bytes:
    """The rows of ``df`` as one COPY text-format payload (UTF-8).

    Raises:
        ValueError: A value holds a NUL character (quarantine such rows first).
    """
    if df.empty:
        return b""
    cols = [column_as_text(df[c]) for c in df.columns]
    line = cols[0].str.cat(cols[1:], sep="\t") if len(cols) > 1 else cols[0]
    payload = "\n".join(line.tolist()) + "\n"
    if "\x00" in payload:
        raise ValueError("a value contains a NUL character; quarantine the row before COPY")
    return payload.encode("utf-8")
