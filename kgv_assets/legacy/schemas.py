"""The pandera schema of each legacy table, built from the catalogue.

A staged value must be something SQL Server could have held in that column: a
uniqueidentifier, an int in range, a real datetime, text no longer than varchar(N). SQLite
(the demo source) holds anything, and PostgreSQL text cannot hold a NUL byte, so rows that break
the schema are quarantined with every reason (lazy validation) instead of failing the load.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa
import polars as pl

from kgv_assets.legacy.catalogue import TABLES, Column, Table
from kgv_assets.validation.reasons import NOT_NULL, reasons_at

_UID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_INT = r"^[+-]?[0-9]{1,10}$"
_DATETIME = (
    r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[ T](?P<H>[0-9]{2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.[0-9]{1,6})?)?)?$"
)
_INT32 = (-(2**31), 2**31 - 1)
_MIN_YEAR = 1753  # SQL Server datetime: 1753-01-01 … 9999-12-31
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _calendar_ok(s: pd.Series) -> pd.Series:
    """Exact check by regex and calendar arithmetic (the slow path, for the few odd values)."""
    parts = s.str.extract(_DATETIME)
    ok = parts["y"].notna()
    n = parts.fillna("0").astype({c: "int64" for c in parts.columns})
    leap = (n["y"] % 4 == 0) & ((n["y"] % 100 != 0) | (n["y"] % 400 == 0))
    month = n["m"].clip(1, 12)
    days = pd.Series(_DAYS[month - 1], index=s.index) + ((month == 2) & leap)
    return (
        ok
        & n["y"].between(_MIN_YEAR, 9999)
        & n["m"].between(1, 12)
        & n["d"].between(1, 31)
        & (n["d"] <= days)
        & n["H"].between(0, 23)
        & n["M"].between(0, 59)
        & n["S"].between(0, 59)
    )


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def fullmatch(s: pd.Series, pattern: str) -> pd.Series:
    """``s.str.fullmatch(pattern)`` for str values, with a C-level pass first.

    ``all(map(regex.fullmatch, values))`` runs without Python bytecode per value; only when a
    value does not match (or is not a str) does pandas mark each value.
    """
    regex = _compiled(pattern)
    try:
        if all(map(regex.fullmatch, s.tolist())):
            return pd.Series(True, index=s.index)
    except TypeError:
        pass
    return s.str.fullmatch(regex)


def is_legacy_datetime(s: pd.Series) -> pd.Series:
    """True where a text is a real SQL Server datetime (1753-01-01 … 9999-12-31), vectorised.

    The common case parses in C (``pd.to_datetime`` with ISO 8601); values it cannot place in
    pandas' nanosecond range (9999-12-31, 1753-01-01) or cannot read go through the exact
    regex-and-calendar check.
    """
    text = s.dropna() if s.hasnans else s
    shaped = fullmatch(text, _DATETIME)
    parsed = pd.to_datetime(
        text if shaped.all() else text.where(shaped), format="ISO8601", errors="coerce"
    )
    # pandas reads back to 1677: what it placed before 1753 is no SQL Server datetime either.
    fast = parsed.notna() & (parsed.dt.year >= _MIN_YEAR)
    slow = text[shaped & ~fast]
    result = pd.Series(True, index=s.index)
    result.loc[text.index[~shaped]] = False
    if len(slow):
        result.loc[slow.index] = _calendar_ok(slow)
    return result


def _is_int32(s: pd.Series) -> pd.Series:
    ok = fullmatch(s, _INT)
    n = pd.to_numeric(s.where(ok), errors="coerce")
    return ok & n.between(*_INT32)


class _JoinedText:
    """The joined text of the last column looked at: both character checks of a column use it.

    Remembers the Series object itself (not its id), so a hit is always the same values.
    """

    def __init__(self) -> None:
        self._last: tuple[pd.Series | None, str] = (None, "")

    def __call__(self, s: pd.Series) -> str:
        last = self._last
        if last[0] is s:
            return last[1]
        try:
            text = "".join(s.tolist())  # pandera hands checks the non-NULL values only
        except TypeError:
            text = "".join(s.dropna().tolist())
        self._last = (s, text)
        return text


_joined_text = _JoinedText()


def _without(pattern: str, absent: Callable[[str], bool]) -> Callable[[pd.Series], pd.Series]:
    """A check that the values contain no match of ``pattern``.

    Such characters are rare: one C-level test of the column's joined text (``absent``) finds
    that none is there, and only otherwise is each value looked at.
    """
    regex = re.compile(pattern)

    def check(s: pd.Series) -> pd.Series:
        if absent(_joined_text(s)):
            return pd.Series(True, index=s.index)
        return ~s.str.contains(regex)

    return check


def _no_nul(text: str) -> bool:
    return "\x00" not in text


def _no_surrogate(text: str) -> bool:
    """Strict UTF-8 encodes every code point but the surrogates (invalid bytes read back)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_longer_than(limit: int) -> Callable[[pd.Series], pd.Series]:
    """A check that no value is longer than ``limit`` characters (C-level scan first)."""

    def check(s: pd.Series) -> pd.Series:
        try:
            if max(map(len, s.tolist()), default=0) <= limit:
                return pd.Series(True, index=s.index)
        except TypeError:
            pass
        return s.str.len() <= limit

    return check


NUL_BYTE = "NUL byte (PostgreSQL text cannot hold U+0000)"
NOT_UTF8 = "not valid UTF-8"
NOT_A_UID = "not a uniqueidentifier"
NOT_AN_INT = "not an int (32-bit integer)"
NOT_A_DATETIME = "not a datetime"


def _too_long(column: Column) -> str:
    return f"longer than {column.tsql_type}"


def _checks(column: Column) -> list[pa.Check]:
    checks = [
        pa.Check(_without("\x00", _no_nul), name=NUL_BYTE),
        pa.Check(_without("[\ud800-\udfff]", _no_surrogate), name=NOT_UTF8),
    ]
    if column.kind == "uid":
        checks.append(pa.Check(lambda s: fullmatch(s, _UID), name=NOT_A_UID))
    elif column.kind == "int":
        checks.append(pa.Check(_is_int32, name=NOT_AN_INT))
    elif column.kind == "datetime":
        checks.append(pa.Check(is_legacy_datetime, name=NOT_A_DATETIME))
    else:
        checks.append(pa.Check(_not_longer_than(column.length or 0), name=_too_long(column)))
    return checks


def legacy_schema(table: Table) -> pa.DataFrameSchema:
    """The pandera schema of one legacy table (values as canonical text, see extract)."""
    return pa.DataFrameSchema(
        {
            c.name: pa.Column(object, checks=_checks(c), nullable=c.nullable, coerce=False)
            for c in table.columns
        },
        name=f"legacy.{table.name}",
        strict=False,
        ordered=False,
    )


LEGACY_SCHEMAS: dict[str, pa.DataFrameSchema] = {t.name: legacy_schema(t) for t in TABLES}


def _polars_datetime_ok(value: pl.Expr) -> pl.Expr:
    """``is_legacy_datetime`` as a polars expression: the same regex, then the calendar."""
    parts = value.str.extract_groups(_DATETIME)

    def part(name: str) -> pl.Expr:
        return parts.struct.field(name).cast(pl.Int32)

    y, m, d = part("y"), part("m"), part("d")
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    days = m.clip(1, 12).replace_strict(
        dict(enumerate(_DAYS.tolist(), start=1)), return_dtype=pl.Int32
    ) + ((m == 2) & leap).cast(pl.Int32)
    return (
        y.is_between(_MIN_YEAR, 9999)
        & m.is_between(1, 12)
        & d.is_between(1, 31)
        & (d <= days)
        & part("H").fill_null(0).is_between(0, 23)
        & part("M").fill_null(0).is_between(0, 59)
        & part("S").fill_null(0).is_between(0, 59)
    )


def _polars_failures(column: Column) -> list[tuple[str, pl.Expr]]:
    """Each check of ``_checks`` as (its name, where it fails), on the non-NULL values."""
    value = pl.col(column.name)
    failures = [(NUL_BYTE, value.str.contains("\x00", literal=True))]
    if column.kind == "uid":
        failures.append((NOT_A_UID, ~value.str.contains(_UID)))
    elif column.kind == "int":
        number = value.str.strip_prefix("+").cast(pl.Int64, strict=False)
        failures.append((NOT_AN_INT, ~(value.str.contains(_INT) & number.is_between(*_INT32))))
    elif column.kind == "datetime":
        failures.append((NOT_A_DATETIME, ~_polars_datetime_ok(value)))
    else:
        failures.append((_too_long(column), value.str.len_chars() > (column.length or 0)))
    return failures


def legacy_reasons(frame: pl.DataFrame, table: Table) -> pd.Series:
    """``failure_reasons`` of the table's legacy schema, computed by polars on a polars frame.

    The same rules and reason texts as ``LEGACY_SCHEMAS`` (the oracle of the differential
    tests), as polars expressions over the whole chunk: no pandas copy of the chunk, no Python
    object per value. The frame holds valid UTF-8 only (polars strings cannot hold anything
    else: a chunk with undecodable bytes is validated by the pandera schema), so the UTF-8
    check cannot fail here. Rust's regex and Python's agree on these patterns: ASCII classes,
    anchors at the very start and end (``$`` never matches before a final newline in Rust, as
    ``fullmatch`` in Python). Indexed by row position, failing rows only.
    """
    texts: list[str] = []
    exprs: list[pl.Expr] = []
    for column in table.columns:
        value = pl.col(column.name)
        if not column.nullable:
            texts.append(f"{column.name}: {NOT_NULL}")
            exprs.append(value.is_null())
        for name, fails in _polars_failures(column):
            texts.append(f"{column.name}: {name}")
            exprs.append(value.is_not_null() & fails.fill_null(True))
    masks = frame.select(e.alias(str(i)) for i, e in enumerate(exprs))
    positions: list[np.ndarray] = []
    failed: list[str] = []
    for i, text in enumerate(texts):
        if len(rows := np.flatnonzero(masks[str(i)].to_numpy())):
            positions.append(rows)
            failed.append(text)
    return reasons_at(positions, failed)
