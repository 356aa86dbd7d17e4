"""The ODBC readers: arrow-odbc and its pyodbc fallback give the same batches, and so does ADBC.

Nothing is mocked: a real SQLite file (the demo source, or one a test writes) is read through
Debian's SQLite ODBC driver (``libsqliteodbc``) by arrow-odbc and by pyodbc, through the
resource's own code paths, and compared with the SQLite ADBC reader row for row: text, NULLs,
partitions and content hashes. SQLAlchemy has no "SQLite over ODBC" dialect, so the resource
under test (``SqliteOverOdbc``) only replaces where its ODBC source comes from: the SQLite
driver's connection string and the ``sqlite`` dialect instead of the ``mssql+pyodbc`` URL's.

What the SQLite ODBC driver does differently from SQL Server's drivers, pinned down here:

- a value with a NUL character comes back cut at the NUL (C strings), from both readers alike;
- it reports 255 characters as the size of any expression (``CAST(… AS TEXT)``), so a longer
  value is an error of arrow-odbc (never a truncated value), while pyodbc reads it whole;
- bytes that are not UTF-8 are an error of arrow-odbc, while pyodbc gets them silently dropped,
  and so are the characters of plane 16 (U+100000-U+10FFFF, UTF-8 lead byte F4), which arrow-odbc
  reads whole: the generated text below stays out of plane 16;
- it binds arrow-odbc's parameters as text: SQLite compares them with the year through the
  integer affinity of ``CAST(… AS INTEGER)``, so partitions come out the same.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from kgv_assets.layout import HASH_COLUMN, PARTITION_COLUMN, UNPARTITIONED
from kgv_assets.legacy.catalogue import TABLES, Table, table
from kgv_assets.partitions import MAX_YEAR, MIN_YEAR, SENTINEL_DATES
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.odbc import OdbcSource
from kgv_assets.transform.hashing import row_hash
from kgv_assets_tests.conftest import write_mischenfelder
from kgv_assets_tests.resources.test_copy_format import NASTY

MISCH = table("Mischenfelder")


class SqliteOverOdbc(LegacySourceResource):
    """The SQLite file of ``url`` read through the SQLite ODBC driver, as SQL Server is read."""

    def odbc_source(self) -> OdbcSource | None:
        path = make_url(self.url).database
        return OdbcSource(f"Driver=SQLite3;Database={path}", sqlite.dialect())


def _readers(path: Path) -> dict[str, LegacySourceResource]:
    url = f"sqlite:///{path}"
    return {
        "arrow-odbc": SqliteOverOdbc(url=url, chunk_rows=700),
        "pyodbc": SqliteOverOdbc(url=url, chunk_rows=700, arrow_reader=False),
        "adbc": LegacySourceResource(url=url, chunk_rows=700),
    }


def _frame(source: LegacySourceResource, t: Table, keys: Sequence[str] | None) -> pl.DataFrame:
    """All batches of a read in one frame, in one order (the readers keep none)."""
    frames = list(source.read_batches(t, keys))
    frame = pl.concat(frames) if frames else pl.DataFrame()
    return frame.sort(frame.columns, nulls_last=True) if frames else frame


def _staging_frames(source: LegacySourceResource, t: Table) -> tuple[pl.DataFrame, int]:
    """What ``read_for_staging`` gives as one frame, and how many of its chunks were polars.

    A chunk is a polars frame (the staging load validates and COPies it as it is) or a pandas
    chunk (validated by the pandera schema, COPied as text); both become one polars frame.
    """
    reads = list(source.read_for_staging(t))
    chunks = [
        r
        if isinstance(r, pl.DataFrame)
        else pl.from_pandas(r).cast(dict.fromkeys(t.column_names, pl.String))
        for r in reads
    ]
    frame = pl.concat(chunks)
    return frame.sort(frame.columns, nulls_last=True), sum(
        isinstance(r, pl.DataFrame) for r in reads
    )


def _cut_at_nul(frame: pl.DataFrame, t: Table) -> pl.DataFrame:
    """What the SQLite ODBC driver makes of the rows: text cut at the first NUL."""
    has_nul = pl.any_horizontal(
        pl.col(c).str.contains("\x00", literal=True) for c in t.column_names
    )
    cut = [pl.col(c).str.split("\x00").list.first() for c in t.column_names]
    return frame.with_columns(has_nul.fill_null(False).alias("_nul")).with_columns(cut)


def _keys_to_read(source: LegacySourceResource, t: Table) -> list[str]:
    """Two year partitions of ``t`` that have rows, and ``undated``."""
    years = sorted(k for k in source.partition_counts(t) if k != "undated")
    return [*years[len(years) // 2 : len(years) // 2 + 2], "undated"]


def test_the_mssql_statement_has_placeholders_and_no_values() -> None:
    source = LegacySourceResource(
        url="mssql+pyodbc://kgv_reader:s3cret;pw@sqlhost:1433/KGV?driver=FreeTDS&TDS_Version=7.3"
    )
    odbc = source.odbc_source()
    assert odbc is not None
    assert odbc.connection_string == (
        "DRIVER={FreeTDS};Server=sqlhost,1433;Database=KGV;UID=kgv_reader;PWD={s3cret;pw};"
        "TDS_Version=7.3"
    )
    assert "s3cret" not in repr(odbc)
    assert odbc.scrub("login failed for PWD={s3cret;pw} or s3cret;pw") == (
        "login failed for PWD=*** or ***"
    )

    sql, params = odbc.query(table("Verlauf"), "dbo", ["2019", "undated"])
    assert sql.count("?") == len(params)
    assert params.count("2019") == 1 and "undated" in params
    assert {MIN_YEAR, MAX_YEAR} <= set(params) and set(SENTINEL_DATES) <= set(params)
    for value in ("2019", "undated", str(MIN_YEAR), *SENTINEL_DATES):
        assert value not in sql, f"{value} inlined"
    assert sql.startswith("SELECT CONVERT(char(36), dbo.[Verlauf].[verl_ID]) AS [verl_ID]")
    assert "FROM dbo.[Verlauf] WHERE CASE WHEN" in " ".join(sql.split())
    assert "IN (?, ?)" in sql and "ORDER BY" in sql
    assert "CONVERT(varchar(23), dbo.[Verlauf].[verl_Datum], 121)" in sql

    whole, whole_params = odbc.query(table("Bezirk"), "dbo", None)
    assert "WHERE" not in whole and whole.count("?") == len(whole_params)


def test_only_a_pyodbc_source_has_an_odbc_source(demo_source: Path) -> None:
    assert LegacySourceResource(url="mssql://u:p@h/KGV?driver=FreeTDS").odbc_source() is not None
    assert LegacySourceResource(url="mssql+pymssql://u:p@h/KGV").odbc_source() is None
    assert LegacySourceResource(url=f"sqlite:///{demo_source}").odbc_source() is None


@pytest.mark.parametrize("t", TABLES, ids=lambda t: t.name)
def test_arrow_odbc_and_pyodbc_give_the_same_batches_as_adbc(demo_source: Path, t: Table) -> None:
    readers = _readers(demo_source)
    keys_of = [None, _keys_to_read(readers["adbc"], t)] if t.is_partitioned else [None]
    for keys in keys_of:
        arrow, fallback, adbc = (_frame(r, t, keys) for r in readers.values())
        assert arrow.height == adbc.height > 0
        assert arrow.schema == fallback.schema == adbc.schema
        assert arrow.equals(fallback), f"{t.name} {keys}: arrow-odbc and pyodbc differ"
        # The same rows as ADBC reads, but for values with NUL (the driver cuts them there).
        cut = _cut_at_nul(adbc, t)
        cut = cut.sort([c for c in cut.columns if c not in (HASH_COLUMN, "_nul")], nulls_last=True)
        odbc = arrow.sort([c for c in arrow.columns if c != HASH_COLUMN], nulls_last=True)
        assert odbc.drop(HASH_COLUMN).equals(cut.drop(HASH_COLUMN, "_nul"))
        whole = ~cut["_nul"]
        assert odbc[HASH_COLUMN].filter(whole).equals(cut[HASH_COLUMN].filter(whole))
        if t.name == "Antrag" and keys is None:
            assert cut["_nul"].sum() > 0, "the demo plants NUL in an_Vermerk: compared here"


@pytest.mark.parametrize(
    "t", [table("Antrag"), table("Verlauf"), table("Bezirk")], ids=lambda t: t.name
)
def test_read_for_staging_gives_the_arrow_frames_and_the_same_chunks(
    demo_source: Path, t: Table
) -> None:
    readers = _readers(demo_source)
    arrow, arrow_frames = _staging_frames(readers["arrow-odbc"], t)
    fallback, fallback_frames = _staging_frames(readers["pyodbc"], t)
    assert arrow_frames > 0 and fallback_frames == 0
    assert arrow.equals(fallback)
    # the hash of the pyodbc chunks is row_hash of their text: the same as arrow-odbc's
    pandas = fallback.to_pandas()
    assert (row_hash(pandas, t.column_names).to_numpy() == pandas[HASH_COLUMN].to_numpy()).all()


def _write_misch(path: Path, values: Sequence[str | bytes | None]) -> None:
    write_mischenfelder(
        path, [(f"id-{i}", v, None if i % 3 else "", v) for i, v in enumerate(values)]
    )


_TEXT = st.one_of(
    st.none(),
    st.sampled_from([v for v in NASTY if "\x00" not in v]),
    st.text(
        st.characters(codec="utf-8", exclude_characters="\x00", max_codepoint=0xFFFFF), max_size=40
    ),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=12))
def test_nasty_text_reads_alike_through_both_odbc_readers(values: list[str | None]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "misch.sqlite"
        _write_misch(path, values)
        arrow, fallback, adbc = (_frame(r, MISCH, None) for r in _readers(path).values())
    assert arrow.equals(fallback)
    assert arrow.equals(adbc)
    assert sorted(arrow["misch_Kommentar"].to_list(), key=repr) == sorted(values, key=repr)
    assert arrow[PARTITION_COLUMN].unique().to_list() == [UNPARTITIONED]


def test_what_arrow_odbc_cannot_read_whole_is_an_error_not_a_changed_value(
    tmp_path: Path,
) -> None:
    bad_bytes, too_long = tmp_path / "bytes.sqlite", tmp_path / "long.sqlite"
    _write_misch(bad_bytes, [b"\xff\xfe bad", "fine", "plane 16 \U00100000"])
    _write_misch(too_long, ["x" * 2000, "fine"])
    arrow_bytes, fallback_bytes, _ = _readers(bad_bytes).values()
    with pytest.raises(RuntimeError, match="invalid UTF-8") as raised:
        _frame(arrow_bytes, MISCH, None)
    assert "bad" not in str(raised.value), "the driver quotes the value: withheld"
    assert "withheld (legacy data)" in str(raised.value)
    # the SQLite driver's wide-character conversion, which pyodbc reads, drops the bad bytes
    assert sorted(_frame(fallback_bytes, MISCH, None)["misch_Kommentar"]) == [
        " bad",
        "fine",
        "plane 16 ",
    ]
    arrow_long, fallback_long, _ = _readers(too_long).values()
    with pytest.raises(RuntimeError, match="too large"):
        _frame(arrow_long, MISCH, None)
    assert "x" * 2000 in _frame(fallback_long, MISCH, None)["misch_Kommentar"].to_list()


def test_a_refused_arrow_reader_falls_back_and_no_password_shows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = LegacySourceResource(
        url="mssql+pyodbc://kgv_reader:Geheim-42@127.0.0.1:1/KGV?driver=NoSuchDriver"
    )
    dagster_logger = logging.getLogger("dagster")
    dagster_logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError) as raised:
            next(source.read_batches(MISCH))
    finally:
        dagster_logger.removeHandler(caplog.handler)
    assert "pyodbc could not connect" in str(raised.value)
    assert "read through pyodbc, the Arrow reader is unavailable" in caplog.text
    assert "NoSuchDriver" in caplog.text
    for text in (str(raised.value), caplog.text, repr(source.odbc_source())):
        assert "Geheim-42" not in text
