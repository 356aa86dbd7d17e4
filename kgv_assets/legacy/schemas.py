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

from kgv_assets.legacy.catalogue import TABLES, Column, Table

_UID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_INT = r"^[+-]?[0-9]{1,10}$"
_DATETIME = (
    r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[ T](?P<H>[0-9]{2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.[0-9]{1,6})?)?)?$"
)
_INT32 = (-(2**31), 2**31 - 1)
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
        & n["y"].between(1753, 9999)
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
    fast = parsed.notna()
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


def _checks(column: Column) -> list[pa.Check]:
    checks = [
        pa.Check(_without("\x00", _no_nul), name="NUL byte (PostgreSQL text cannot hold U+0000)"),
        pa.Check(_without("[\ud800-\udfff]", _no_surrogate), name="not valid UTF-8"),
    ]
    if column.kind == "uid":
        checks.append(pa.Check(lambda s: fullmatch(s, _UID), name="not a uniqueidentifier"))
    elif column.kind == "int":
        checks.append(pa.Check(_is_int32, name="not an int (32-bit integer)"))
    elif column.kind == "datetime":
        checks.append(pa.Check(is_legacy_datetime, name="not a datetime"))
    else:
        checks.append(
            pa.Check(_not_longer_than(column.length or 0), name=f"longer than {column.tsql_type}")
        )
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
