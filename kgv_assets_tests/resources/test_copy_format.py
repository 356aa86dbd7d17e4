"""COPY text encoding: any text PostgreSQL can hold survives a real COPY round trip unchanged."""

from __future__ import annotations

import datetime as dt
from typing import LiteralString

import numpy as np
import pandas as pd
import polars as pl
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from kgv_assets.resources.copy_format import encode_copy_csv, encode_copy_text, polars_for_copy
from kgv_assets.resources.postgres import CopyStream, copy_frame

NASTY = [
    "line1\nline2",
    "cr\r\nlf",
    "tab\there",
    "back\\slash",
    "\\N",
    "\\.",
    "a\\.b",
    "'single' \"double\"",
    "emoji 🌻🏡",
    "",
    " ",
    "Müller-Lüdenscheidt ß",
    "\\",
    "\\\\N",
]

# Text PostgreSQL can store: no NUL, no lone surrogates.
storable = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)


def _round_trip(
    conn: psycopg.Connection, values: list[str | None], polars: bool = False
) -> list[str | None]:
    """``values`` COPied (as text from pandas, or as csv from polars) and read back."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS t (i int, v text)")
    conn.execute("TRUNCATE t")
    df = pd.DataFrame({"i": range(len(values)), "v": pd.Series(values, dtype=object)})
    frame = pl.DataFrame(
        {"i": list(range(len(values))), "v": values}, schema={"i": pl.Int64, "v": pl.String}
    )
    with conn.transaction(), CopyStream(conn, "pg_temp", "t", ["i", "v"]) as stream:
        stream.write(frame if polars else df)
    return [r[0] for r in conn.execute("SELECT v FROM t ORDER BY i")]


@pytest.mark.parametrize("polars", [False, True], ids=["pandas-text", "polars-csv"])
def test_nasty_text_round_trips(pg: psycopg.Connection, polars: bool) -> None:
    values = [*NASTY, None]
    assert _round_trip(pg, values, polars) == values


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(st.none(), storable), min_size=1, max_size=20))
def test_any_storable_text_round_trips(pg: psycopg.Connection, values: list[str | None]) -> None:
    assert _round_trip(pg, values) == values
    assert _round_trip(pg, values, polars=True) == values  # CSV: "" and NULL stay apart


def test_polars_csv_refuses_nul_and_a_lone_column() -> None:
    with pytest.raises(ValueError, match="NUL"):
        encode_copy_csv(pl.DataFrame({"i": [1], "v": ["a\x00b"]}))
    with pytest.raises(ValueError, match="two columns"):
        encode_copy_csv(pl.DataFrame({"v": ["\\."]}))


def test_a_stream_switches_format_between_frames(pg: psycopg.Connection) -> None:
    """Pandas frames (text) and polars frames (csv) in one stream: each run of a kind one COPY."""
    pg.execute("CREATE TEMP TABLE mixed (i int, v text)")
    values = ["", None, "a,b", 'q"', "x\ty", "\\N"]
    with pg.transaction(), CopyStream(pg, "pg_temp", "mixed", ["i", "v"]) as stream:
        for start in range(0, 12, 3):
            part = [(start + k, values[(start + k) % len(values)]) for k in range(3)]
            if start % 2:
                stream.write(pd.DataFrame(part, columns=["i", "v"]))
            else:
                stream.write(
                    pl.DataFrame(part, schema={"i": pl.Int64, "v": pl.String}, orient="row")
                )
        assert stream.rows == 12
    rows = pg.execute("SELECT i, v FROM mixed ORDER BY i").fetchall()
    assert rows == [(i, values[i % len(values)]) for i in range(12)]


def test_nul_is_refused_not_altered() -> None:
    with pytest.raises(ValueError, match="NUL"):
        encode_copy_text(pd.DataFrame({"v": ["a\x00b"]}))


ENCODINGS = pytest.mark.parametrize("polars", [False, True], ids=["pandas-text", "polars-csv"])


def _as_sent(df: pd.DataFrame, polars: bool) -> pd.DataFrame | pl.DataFrame:
    """The frame as a load sends it: pandas as COPY text, or converted for COPY csv."""
    return polars_for_copy(df) if polars else df


@ENCODINGS
def test_typed_columns(pg: psycopg.Connection, polars: bool) -> None:
    pg.execute("CREATE TEMP TABLE typed (b boolean, n bigint, f double precision, j jsonb)")
    df = pd.DataFrame(
        {
            "b": pd.array([True, None, False], dtype="boolean"),
            "n": pd.array([1, None, -(2**40)], dtype="Int64"),
            "f": [1.5, None, 2.0],
            "j": [{"raw": "a\tb"}, None, {"x": ["\\N"]}],
        }
    )
    with pg.transaction():
        copy_frame(pg, "pg_temp", "typed", _as_sent(df, polars), ["b", "n", "f", "j"])
    rows = pg.execute("SELECT b, n, f, j FROM typed").fetchall()
    assert rows == [
        (True, 1, 1.5, {"raw": "a\tb"}),
        (None, None, None, None),
        (False, -(2**40), 2.0, {"x": ["\\N"]}),
    ]


@ENCODINGS
def test_timestamps_and_mixed_objects(pg: psycopg.Connection, polars: bool) -> None:
    pg.execute(
        "CREATE TEMP TABLE stamps (tz timestamptz, naive timestamp, d date, o text, n numeric)"
    )
    aware = pd.Series(
        pd.DatetimeIndex(
            pd.to_datetime(
                pd.Series(["2021-03-28 03:30:00.123", None, "2021-10-31 02:30:00"]),
                format="ISO8601",
            )
        ).tz_localize("Europe/Berlin", ambiguous=np.array([True, True, True]))
    )
    df = pd.DataFrame(
        {
            "tz": aware,
            "naive": pd.to_datetime(
                pd.Series(["1999-12-31 23:59:59.999", "2000-01-01", None]), format="ISO8601"
            ),
            "d": pd.to_datetime(pd.Series(["1970-06-05", None, "2004-02-29"])),
            "o": pd.Series(["a\tb", pd.NA, float("nan")], dtype=object),
            "n": pd.array([250.5, None, 1200.0], dtype="Float64"),
        }
    )
    with pg.transaction():
        copy_frame(pg, "pg_temp", "stamps", _as_sent(df, polars), ["tz", "naive", "d", "o", "n"])
    pg.execute("SET TIME ZONE 'UTC'")
    rows = pg.execute("SELECT tz::text, naive::text, d::text, o, n::text FROM stamps").fetchall()
    assert rows == [
        ("2021-03-28 01:30:00.123+00", "1999-12-31 23:59:59.999", "1970-06-05", "a\tb", "250.5"),
        (None, "2000-01-01 00:00:00", None, None, None),
        ("2021-10-31 00:30:00+00", None, "2004-02-29", None, "1200.0"),
    ]


# Target-row columns as the loads build them: (PostgreSQL type, pandas values) per kind.
_instants = st.datetimes(min_value=dt.datetime(1893, 4, 1), max_value=dt.datetime(2100, 1, 1))
_KINDS: dict[str, tuple[LiteralString, st.SearchStrategy[object]]] = {
    "text": ("text", st.one_of(st.none(), storable, st.just(float("nan")))),
    "jsonb": (
        "jsonb",
        st.one_of(st.none(), st.dictionaries(st.sampled_from(["a", "b\\N"]), storable, max_size=2)),
    ),
    "int": ("bigint", st.one_of(st.none(), st.integers(-(2**62), 2**62))),
    "float": ("double precision", st.one_of(st.none(), st.floats(allow_nan=False, width=64))),
    "bool": ("boolean", st.one_of(st.none(), st.booleans())),
    "aware": ("timestamptz", st.one_of(st.none(), _instants)),
    "naive": ("timestamp", st.one_of(st.none(), _instants)),
}


def _column(kind: str, values: list[object]) -> pd.Series:
    if kind == "int":
        return pd.Series(values, dtype="Int64")
    if kind == "float":
        return pd.Series(values, dtype="Float64")
    if kind == "bool":
        return pd.Series(values, dtype="boolean")
    if kind in ("aware", "naive"):
        stamps = pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[ns]")
        return (
            stamps.dt.tz_localize("Europe/Berlin", ambiguous="NaT", nonexistent="NaT")
            if (kind == "aware")
            else stamps
        )
    return pd.Series(values, dtype=object)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_polars_csv_sends_what_pandas_text_sends(
    pg: psycopg.Connection, data: st.DataObject
) -> None:
    """Differential: a frame of every column kind, COPied both ways, reads back identical."""
    n = data.draw(st.integers(1, 12))
    df = pd.DataFrame(
        {
            k: _column(k, data.draw(st.lists(values, min_size=n, max_size=n)))
            for k, (_, values) in _KINDS.items()
        }
    )
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(k), sql.SQL(pg_type))
        for k, (pg_type, _) in _KINDS.items()
    )
    for name in ("sent_text", "sent_csv"):
        pg.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (i int, {})").format(
                sql.Identifier(name), columns
            )
        )
    pg.execute("TRUNCATE sent_text, sent_csv")
    df.insert(0, "i", range(n))
    with pg.transaction():
        copy_frame(pg, "pg_temp", "sent_text", df, list(df.columns))
        copy_frame(pg, "pg_temp", "sent_csv", polars_for_copy(df), list(df.columns))
    text = pg.execute("SELECT * FROM sent_text ORDER BY i").fetchall()
    assert pg.execute("SELECT * FROM sent_csv ORDER BY i").fetchall() == text
    assert len(text) == n


def _frame(start: int, stop: int) -> pd.DataFrame:
    return pd.DataFrame({"i": range(start, stop), "v": [f"row\t{i}" for i in range(start, stop)]})


def test_one_copy_across_chunks_with_an_interruption(pg: psycopg.Connection) -> None:
    pg.execute("CREATE TEMP TABLE streamed (i int, v text)")
    with pg.transaction(), CopyStream(pg, "pg_temp", "streamed", ["i", "v"]) as stream:
        stream.write(_frame(0, 3))
        stream.write(_frame(3, 3))
        stream.interrupt(lambda conn: conn.execute("INSERT INTO streamed VALUES (-1, 'between')"))
        stream.write(_frame(3, 5000))
        assert stream.rows == 5000
    rows = pg.execute("SELECT i, v FROM streamed ORDER BY i").fetchall()
    assert rows == [(-1, "between")] + [(i, f"row\t{i}") for i in range(5000)]


def test_an_error_aborts_the_stream_and_the_transaction(pg: psycopg.Connection) -> None:
    pg.execute("CREATE TEMP TABLE aborted (i int, v text)")
    with (
        pytest.raises(ValueError, match="NUL"),
        pg.transaction(),
        CopyStream(pg, "pg_temp", "aborted", ["i", "v"]) as stream,
    ):
        stream.write(_frame(0, 10))
        stream.write(pd.DataFrame({"i": [11], "v": ["a\x00b"]}))
    assert pg.execute("SELECT count(*) FROM aborted").fetchone() == (0,)
