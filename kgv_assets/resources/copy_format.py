r"""Encode DataFrames as PostgreSQL COPY text format, vectorised per column.

COPY ``FORMAT text``: columns separated by tab, rows by newline, NULL as ``\N``; a backslash,
newline, carriage return or tab inside a value is written as ``\\``, ``\n``, ``\r``, ``\t``.
So ``\N`` and ``\.`` inside a value (or as the whole value) survive as the text they are. NUL
cannot be sent at all: PostgreSQL text cannot hold it, so callers quarantine such rows before
encoding (``encode_copy_text`` refuses them rather than alter them).

This is the hot path of every load, so no per-value Python runs for the common types: all the
text of a frame is escaped at once (joined with NUL, which no value may contain, escaped with
four C-level ``str.replace`` calls and split again), numbers and timestamps are formatted by
numpy, and rows are joined by ``str.join`` mapped over the columns.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

NULL = "\\N"
_NUL = "\x00"
# The backslash first, so the backslashes the other escapes add are not doubled.
_ESCAPES = ((b"\\", b"\\\\"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t"))
_NUL_REFUSED = "a value contains a NUL character; quarantine the row before COPY"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _value_as_text(v: object) -> str:
    if isinstance(v, bool | np.bool_):
        return "t" if v else "f"
    if isinstance(v, dict | list):
        return _json(v)
    if isinstance(v, dt.datetime | dt.date | pd.Timestamp):
        return v.isoformat()
    return str(v)


def _typed_texts(s: pd.Series) -> np.ndarray | None:
    """Texts of a bool, number or timestamp column (None for object columns)."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return np.where(s.to_numpy(dtype=bool, na_value=False), "t", "f").astype(object)
    if pd.api.types.is_integer_dtype(dtype):
        return s.to_numpy(dtype="int64", na_value=0).astype(str).astype(object)
    if pd.api.types.is_float_dtype(dtype):
        floats = s.to_numpy(dtype="float64", na_value=np.nan)
        return np.array(list(map(repr, floats.tolist())), dtype=object)
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        return np.char.add(np.datetime_as_string(utc, unit="ns"), "Z").astype(object)
    if pd.api.types.is_datetime64_dtype(dtype):
        naive = s.to_numpy(dtype="datetime64[ns]")
        return np.datetime_as_string(naive, unit="us").astype(object)
    return None


def _objects_as_texts(values: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Object values: str kept, other values converted by type (in place; NULLs left)."""
    for i in np.flatnonzero(~null):
        if type(values[i]) is not str:
            values[i] = _value_as_text(values[i])
    return values


def column_as_copy_text(s: pd.Series) -> list[bytes]:
    r"""One column as escaped UTF-8 COPY texts, NULL as ``\N``, chosen by dtype.

    Booleans become t/f; integers and floats their decimal text; timestamps ISO 8601
    (timezone-aware ones in UTC, ``Z``); strings stay as they are; dicts and lists JSON (for
    jsonb); other objects ``str``. The common case, a column of str and None, is handled
    without any per-value Python: None is found by one comparison, and a value of any other
    type makes the join fail, which sends the column through the per-type conversion.
    """
    texts = _typed_texts(s)
    if texts is None:
        texts = s.to_numpy(dtype=object, copy=True)  # NULLs are overwritten below
        try:
            null = np.equal(texts, np.array(None, dtype=object))
            texts[null] = ""
            escaped = escape_all(texts.tolist())
        except TypeError:  # NaN, pd.NA, dicts, numbers … among the strings
            texts = s.to_numpy(dtype=object, copy=True)
            null = pd.isna(texts)
            texts = _objects_as_texts(texts, null)
            texts[null] = ""
            escaped = escape_all(texts.tolist())
    else:
        null = s.isna().to_numpy()
        texts[null] = ""
        escaped = escape_all(texts.tolist())
    if null.any():
        marked = np.array(escaped, dtype=object)
        marked[null] = b"\\N"
        return marked.tolist()
    return escaped


def escape_all(texts: list[str]) -> list[bytes]:
    """Many texts escaped for COPY and encoded as UTF-8, at once (one join, one split).

    Call it per column: one wide character (an emoji) makes Python widen the whole joined text.

    Raises:
        ValueError: A text holds a NUL character.
    """
    joined = _NUL.join(texts).encode("utf-8")
    if joined.count(b"\x00") != len(texts) - 1:
        raise ValueError(_NUL_REFUSED)
    for char, escaped in _ESCAPES:
        if char in joined:
            joined = joined.replace(char, escaped)
    return joined.split(b"\x00")


def encode_copy_text(df: pd.DataFrame) -> bytes:
    """The rows of ``df`` as one COPY text-format payload (UTF-8).

    Raises:
        ValueError: A value holds a NUL character (quarantine such rows first).
    """
    if df.empty:
        return b""
    columns = [column_as_copy_text(df.iloc[:, i]) for i in range(df.shape[1])]
    return b"\n".join(map(b"\t".join, zip(*columns, strict=True))) + b"\n"


# How ``encode_copy_text`` writes timestamps, as polars format strings: timezone-aware ones in
# UTC to the nanosecond with ``Z``, naive ones to the microsecond (numpy's ``unit="us"``).
_AWARE_FORMAT = "%Y-%m-%dT%H:%M:%S%.9fZ"
_NAIVE_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f"


def _polars_column(s: pd.Series) -> pl.Series:
    """One pandas column as the polars column whose CSV is the value ``encode_copy_text`` writes."""
    name, dtype = str(s.name), s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = pl.from_pandas(s.dt.tz_convert("UTC").dt.tz_localize(None))
        return utc.dt.to_string(_AWARE_FORMAT).alias(name)
    if pd.api.types.is_datetime64_dtype(dtype):
        return pl.from_pandas(s).dt.to_string(_NAIVE_FORMAT).alias(name)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return pl.from_pandas(s).alias(name)  # NaN and pd.NA become null, as in the text path
    values = s.to_numpy(dtype=object)
    try:
        # The common case, str and NULLs (None, NaN, pd.NA): one C-level conversion.
        texts = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = None
    if texts is None or not (pa.types.is_string(texts.type) or pa.types.is_null(texts.type)):
        # dicts (jsonb), numbers or anything else among the values: converted by type, one by
        # one, exactly as the text path converts them.
        null = pd.isna(values)
        converted = _objects_as_texts(values.copy(), null)
        converted[null] = None
        texts = pa.array(converted, type=pa.string())
    return pl.Series(name, texts, dtype=pl.String)


def polars_for_copy(df: pd.DataFrame) -> pl.DataFrame:
    """A pandas frame as the polars frame ``encode_copy_csv`` writes as the same row values.

    The values PostgreSQL receives are those ``encode_copy_text`` sends for the frame (the
    tests COPY both and compare): booleans, numbers and strings as they are, timestamps as
    ISO 8601 texts (timezone-aware ones in UTC), dicts and lists as JSON, other objects
    ``str``. Only object columns that hold something other than str and NULL cost Python per
    value.
    """
    return pl.DataFrame([_polars_column(df.iloc[:, i]) for i in range(df.shape[1])])


def encode_copy_csv(df: pl.DataFrame) -> bytes:
    r"""The rows of a polars frame as one COPY ``FORMAT csv`` payload, written by polars.

    PostgreSQL's CSV: NULL is an unquoted empty field, an empty string is quoted (``""``), and
    a value holding a comma, a quote, a newline or a carriage return is quoted with its quotes
    doubled; a backslash is an ordinary character. Polars writes exactly that; ``\.`` alone
    on a line (the end-of-data marker) cannot occur, since every row has several columns.

    Raises:
        ValueError: A value holds a NUL character (quarantine such rows first).
    """
    if df.width < 2:
        raise ValueError("COPY csv needs two columns or more (a lone \\. ends the data)")
    buffer = io.BytesIO()
    df.write_csv(buffer, include_header=False, null_value="", quote_style="necessary")
    payload = buffer.getvalue()
    if b"\x00" in payload:
        raise ValueError(_NUL_REFUSED)
    return payload
