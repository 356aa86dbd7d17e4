"""Pandera checks shared by the target schemas: the same rules as the SQL domains in sql/target.

A row that would break a domain or constraint is caught here, before the load, and quarantined
with every reason instead of failing a whole COPY.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pandera.pandas as pa

from kgv_assets.transform.conversion import WHITESPACE_CLASS, to_polars
from kgv_assets.transform.tables.mapping import TableMapping

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
POSTAL_CODE = r"^[0-9]{5}$"
PHONE_E164 = r"^\+[1-9][0-9]{6,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def fullmatch(pattern: str) -> Callable[[pd.Series], pd.Series]:
    r"""``s.str.fullmatch(pattern)`` for an anchored ``^…$`` pattern, in polars where it can.

    The target schemas check every key, phone number and e-mail of a load: one Python regex
    call per value was a tenth of the history's conversion at 1M rows. Rust's regex matches
    these patterns as Python's does (``$`` only at the very end; ASCII classes) once ``\s`` is
    Python's white space (``WHITESPACE_CLASS``, also inside a class: Rust nests classes).
    Values polars cannot hold (not str, lone surrogates) go through pandas.
    """
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"pattern {pattern!r} is not anchored at both ends")
    rust = pattern.replace(r"\s", WHITESPACE_CLASS)

    def check(s: pd.Series) -> pd.Series:
        text = to_polars(s)
        if text is None or text.null_count():  # NULLs: as pandas gives them (NaN)
            return s.str.fullmatch(pattern)
        return pd.Series(text.str.contains(rust).to_numpy(), index=s.index, name=s.name)

    return check


def matches(pattern: str, name: str) -> pa.Check:
    """Non-NULL values match ``pattern`` (full match)."""
    return pa.Check(fullmatch(pattern), name=name)


def unique_in_load(name: str = "duplicate key in this load") -> pa.Check:
    """No value occurs twice in the rows being loaded (a primary key)."""
    return pa.Check(lambda s: ~s.duplicated(keep=False), name=name)


def key_column() -> pa.Column:
    """The uuid primary key taken from the legacy uniqueidentifier."""
    return pa.Column(object, checks=[matches(UUID, "not a uuid"), unique_in_load()], nullable=False)


def text(nullable: bool = True, checks: list[pa.Check] | None = None) -> pa.Column:
    """A text column (object dtype of str)."""
    return pa.Column(object, checks=checks or [], nullable=nullable)


def between(low: float, high: float, name: str) -> pa.Check:
    """Numeric values within [low, high]."""
    return pa.Check(lambda s: pd.to_numeric(s).between(low, high), name=name)


def email() -> pa.Column:
    """An e-mail address column (what ``parse_email`` writes, as the domain checks it)."""
    return text(checks=[matches(EMAIL, "not an e-mail address")])


def postal_code() -> pa.Column:
    """A German postal code column (five digits)."""
    return text(checks=[matches(POSTAL_CODE, "not a German postal code")])


def phone() -> pa.Column:
    """A phone number column in E.164 form."""
    return text(checks=[matches(PHONE_E164, "not an E.164 number")])


def active_flag() -> pa.Column:
    """``is_active``: a boolean that is never NULL (the documented default was applied)."""
    return pa.Column(bool, nullable=False)


def target_schema(mapping: TableMapping, **columns: pa.Column) -> pa.DataFrameSchema:
    """The target schema of the mapping's table: its uuid key ``id`` (if any) and ``columns``."""
    key = {"id": key_column()} if mapping.key == ("id",) else {}
    return pa.DataFrameSchema({**key, **columns}, name=mapping.table.qualified)
