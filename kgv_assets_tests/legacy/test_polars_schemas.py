"""The legacy schema in polars (``legacy_reasons``) gives exactly the pandera schema's reasons.

The oracle is the pandera schema of each legacy table (``LEGACY_SCHEMAS``), run by pandera's
lazy validation (``pandera_reasons``) and by the screened path the loads used before
(``failure_reasons``): on every chunk of the dirty demo source, as the staging load reads it,
and on hypothesis-generated values near every rule's edges (uniqueidentifier shapes, 32-bit
bounds, signs, calendar days, leap years, the years 1677-1753, hours, NUL bytes, lengths in code
points, trailing newlines, Unicode digits and whitespace).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgv_assets.legacy.catalogue import TABLES, Column, Table
from kgv_assets.legacy.schemas import (
    LEGACY_SCHEMAS,
    is_legacy_datetime,
    legacy_reasons,
    legacy_schema,
)
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.validation.reasons import failure_reasons, pandera_reasons


def _reasons(
    frame: pl.DataFrame, table: Table, schema: pa.DataFrameSchema | None = None
) -> dict[int, list[str]]:
    """The polars reasons, after asserting that both oracles give the same."""
    fast = legacy_reasons(frame, table)
    chunk = frame.to_pandas()[table.column_names]
    schema = LEGACY_SCHEMAS[table.name] if schema is None else schema
    screened = failure_reasons(chunk, schema).sort_index().to_dict()
    reference = pandera_reasons(chunk, schema).sort_index().to_dict()
    assert screened == reference
    assert fast.sort_index().to_dict() == reference
    return {int(row): reasons for row, reasons in zip(fast.index.to_numpy(), fast, strict=True)}


@pytest.mark.parametrize("name", [t.name for t in TABLES])
def test_every_chunk_of_the_dirty_demo(demo_source: Path, name: str) -> None:
    table = next(t for t in TABLES if t.name == name)
    source = LegacySourceResource(url=f"sqlite:///{demo_source}", chunk_rows=5000)
    failing = 0
    for chunk in source.read_for_staging(table):
        if isinstance(chunk, pl.DataFrame):  # else undecodable bytes: the pandera schema's
            failing += len(_reasons(chunk, table))
    if name in {"Antrag", "Eingangsnummer"}:
        assert failing, "the demo's planted dirt is found"


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


_uid_like = st.one_of(
    st.builds(
        lambda a, b, c, d, e: f"{a}-{b}-{c}-{d}-{e}",
        *(
            st.text(alphabet="0123456789abcdefABCDEFg", min_size=n, max_size=n)
            for n in (8, 4, 4, 4, 12)
        ),
    ),
    st.text(max_size=40),
)
_int_like = st.one_of(
    st.integers(-(2**31) - 2, 2**31 + 2).map(str),
    st.builds(
        lambda sign, digits: sign + digits,
        st.sampled_from(["", "+", "-", "--", " "]),
        st.text(alphabet="0123456789", min_size=0, max_size=12),
    ),
    st.sampled_from(
        [
            "12a",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            "+2147483647",
            "1\n",
            "٣",
            "1e3",
            "0x10",
            " 1",
            "+",
            "-",
            "00000000001",
        ]
    ),
)
_datetime_like = st.one_of(
    st.builds(
        lambda y, m, d, rest: f"{y:04d}-{m:02d}-{d:02d}{rest}",
        st.integers(1600, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.one_of(
            st.just(""),
            st.builds(
                lambda sep, h, mi, s, frac: f"{sep}{h:02d}:{mi:02d}{s}{frac}",
                st.sampled_from([" ", "T", "  "]),
                st.integers(0, 25),
                st.integers(0, 61),
                st.sampled_from(["", ":00", ":59", ":60", ":7"]),
                st.sampled_from(["", ".1", ".123456", ".1234567", "."]),
            ),
        ),
    ),
    st.sampled_from(
        [
            "1752-12-31",
            "1753-01-01",
            "1677-09-21",
            "1700-02-29",
            "2000-02-29",
            "1900-02-29",
            "2019-01-01\n",
            "9999-12-31 23:59:59.999999",
            "2019-1-1",
        ]
    ),
    st.text(max_size=25),
)
_text_like = st.text(max_size=12) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=9, max_size=11
)

_VALUES = {"uid": _uid_like, "int": _int_like, "datetime": _datetime_like}


def _storable(v: str | None) -> str | None:
    return v if v is None else v.encode("utf-8", "replace").decode("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_generated_values_near_every_edge(data: st.DataObject) -> None:
    columns = (
        Column("c_uid", "uid", nullable=False),
        Column("c_int", "int"),
        Column("c_dt", "datetime", nullable=False),
        Column("c_text", "varchar", length=10),
    )
    table = Table("Generated", columns, "c_uid", "generated values")
    rows = data.draw(st.integers(1, 30))
    frame = pl.DataFrame(
        {
            c.name: [
                _storable(data.draw(st.none() | _VALUES.get(c.kind, _text_like)))
                for _ in range(rows)
            ]
            for c in columns
        },
        schema={c.name: pl.String for c in columns},
    )
    _reasons(frame, table, legacy_schema(table))


def test_years_before_1753_are_no_legacy_datetime() -> None:
    """Pandas parses back to 1677; SQL Server's datetime starts in 1753 (fixed here)."""
    values = pd.Series(["1700-01-01", "1752-12-31 23:59:59", "1753-01-01", "2019-02-29"])
    assert is_legacy_datetime(values).tolist() == [False, False, True, False]
