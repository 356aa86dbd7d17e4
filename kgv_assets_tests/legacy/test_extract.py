"""The extractor's SQL: T-SQL compiled and parsed (no SQL Server runs here), SQLite run for real."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlglot
from sqlalchemy.dialects import mssql
from sqlglot import exp

from kgv_assets.legacy.catalogue import TABLES, table
from kgv_assets.legacy.extract import count_rows_by_partition, select_rows
from kgv_assets.partitions import UNDATED
from kgv_assets.resources.legacy_source import LegacySourceResource


def _tsql(stmt: object) -> str:
    compiled = stmt.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    return str(compiled)


@pytest.mark.parametrize("t", TABLES, ids=lambda t: t.name)
def test_tsql_select_is_explicit_canonical_and_ordered(t) -> None:
    text = _tsql(select_rows(t, "dbo"))
    tree = sqlglot.parse_one(text, read="tsql")
    assert not list(tree.find_all(exp.Star)), "never SELECT *"
    aliases = [e.alias_or_name for e in tree.expressions]
    assert aliases == [*t.column_names, "_partition"]
    assert f"FROM dbo.[{t.name}]" in text
    for c in t.columns:
        if c.kind == "uid":
            assert f"CONVERT(char(36), dbo.[{t.name}].[{c.name}])" in text
        if c.kind == "datetime":
            assert f"CONVERT(varchar(23), dbo.[{t.name}].[{c.name}], 121)" in text
    order = [o.this.name for o in tree.args["order"].expressions]
    assert order == t.order_by
    if not t.is_partitioned:
        assert "'all' AS _partition" in text


def test_tsql_partition_filter_is_evaluated_by_the_server() -> None:
    text = _tsql(select_rows(table("Antrag"), "dbo", ["2019", UNDATED]))
    tree = sqlglot.parse_one(text, read="tsql")
    where = tree.args["where"].sql(dialect="tsql")
    assert "YEAR(dbo.[Antrag].[an_Bewerbungsdatum])" in text
    assert "'1900-01-01'" in where and "'1753-01-01'" in where and "'9999-12-31'" in where
    assert "IN ('2019', 'undated')" in where
    counts = _tsql(count_rows_by_partition(table("Verlauf"), "dbo"))
    assert "GROUP BY CASE WHEN" in counts
    sqlglot.parse_one(counts, read="tsql")


def _sqlite_with(rows: list[tuple[object, ...]], tmp_path: Path) -> Path:
    path = tmp_path / "src.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE Aktenzeichen (az_ID uniqueidentifier, az_Bezirk varchar(10),"
            " az_Nummer int, az_Jahr int)"
        )
        db.executemany("INSERT INTO Aktenzeichen VALUES (?, ?, ?, ?)", rows)
        db.execute(
            "CREATE TABLE Verlauf (verl_ID uniqueidentifier, verl_An_ID uniqueidentifier,"
            " verl_Art varchar(4), verl_Datum datetime, verl_Gemarkung varchar(50),"
            " verl_Flur varchar(20), verl_Parzelle varchar(20), verl_Groesse varchar(20),"
            " verl_Sachbearbeiter varchar(100), verl_Hinweis varchar(100),"
            " verl_Kommentar varchar(255))"
        )
        dates = [
            "2019-03-01 10:00:00.000",
            "2019-12-31T23:59:59",
            "2020-01-01",
            "1900-01-01 00:00:00.000",
            "1753-01-01 00:00:00",
            "9999-12-31 23:59:59.997",
            None,
            "kein Datum",
            "1899-06-01",
        ]
        db.executemany(
            "INSERT INTO Verlauf (verl_ID, verl_Datum) VALUES (?, ?)",
            [(f"00000000-0000-0000-0000-{i:012d}", d) for i, d in enumerate(dates)],
        )
    return path


def test_sqlite_rows_land_in_exactly_one_partition(tmp_path: Path) -> None:
    path = _sqlite_with(
        [
            ("00000000-0000-0000-0000-000000000001", "32", 1, 2019),
            ("00000000-0000-0000-0000-000000000002", "33", 2, None),
            ("00000000-0000-0000-0000-000000000003", "33", 3, 0),
            ("00000000-0000-0000-0000-000000000004", "33", "12a", 2021),
        ],
        tmp_path,
    )
    source = LegacySourceResource(url=f"sqlite:///{path}")
    verlauf = pd_concat(source.read_chunks(table("Verlauf")))
    assert verlauf["_partition"].tolist() == [
        "2019",
        "2019",
        "2020",
        UNDATED,
        UNDATED,
        UNDATED,
        UNDATED,
        UNDATED,
        "1899",
    ]
    assert source.partition_counts(table("Verlauf")) == {
        "2019": 2,
        "2020": 1,
        UNDATED: 5,
        "1899": 1,
    }
    only = pd_concat(source.read_chunks(table("Verlauf"), ["2020", UNDATED]))
    assert len(only) == 6
    akten = pd_concat(source.read_chunks(table("Aktenzeichen")))
    assert akten["_partition"].tolist() == ["2019", UNDATED, UNDATED, "2021"]
    assert akten["az_Nummer"].tolist() == ["1", "2", "3", "12a"], "values arrive as text"


def test_unpartitioned_tables_count_as_one_partition(tmp_path: Path) -> None:
    path = tmp_path / "bezirk.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE Bezirk (bez_ID uniqueidentifier, bez_Name varchar(10))")
        db.executemany("INSERT INTO Bezirk VALUES (?, ?)", [("a", "32"), ("a", "32"), ("b", "33")])
    source = LegacySourceResource(url=f"sqlite:///{path}")
    assert source.partition_counts(table("Bezirk")) == {"all": 3}
    text = _tsql(count_rows_by_partition(table("Bezirk"), "dbo"))
    assert "FROM dbo.[Bezirk]" in text


def test_source_never_writes(tmp_path: Path) -> None:
    path = _sqlite_with([], tmp_path)
    source = LegacySourceResource(url=f"sqlite:///{path}")
    with source.engine.connect() as conn, pytest.raises(Exception, match=r"readonly|read-only"):
        conn.exec_driver_sql("DELETE FROM Verlauf")


def pd_concat(chunks):
    import pandas as pd

    return pd.concat(list(chunks), ignore_index=True)
