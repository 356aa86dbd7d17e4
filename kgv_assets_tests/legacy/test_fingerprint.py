"""Partition fingerprints: the T-SQL compiled and parsed, the SQLite path run for real.

On a copy of the demo source, every kind of change (insert, update of one character, NULL ↔
empty, trailing space, values swapped between columns, delete, a row moving to another year,
an exact duplicate in a key-less table) changes the fingerprint of exactly the partitions it
touches, and the counts agree with the source's own partition counts.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import sqlglot
from sqlalchemy.dialects import mssql
from sqlglot import exp

from kgv_assets.legacy.catalogue import TABLES, table
from kgv_assets.legacy.fingerprint import fingerprint_query
from kgv_assets.resources.batches import fingerprint_hashes
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.transform.hashing import hash_columns


def row_hash_bytes(*values: bytes | None) -> int:
    """SQLite's fingerprint row hash of one row of stored bytes."""
    names = [f"c{i}" for i in range(len(values))]
    data = pa.table(
        {n: pa.array([v], type=pa.binary()) for n, v in zip(names, values, strict=True)}
    )
    return int(fingerprint_hashes(data, names)[0])


def _tsql(t) -> str:
    stmt = fingerprint_query(t, "dbo")
    return str(stmt.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize("t", TABLES, ids=lambda t: t.name)
def test_tsql_fingerprint_is_one_aggregate_over_every_column(t) -> None:
    text = _tsql(t)
    tree = sqlglot.parse_one(text, read="tsql")
    assert not list(tree.find_all(exp.Star)) or all(
        isinstance(s.parent, exp.Count) for s in tree.find_all(exp.Star)
    ), "no SELECT *"
    assert [e.alias_or_name for e in tree.expressions] == [
        "_partition",
        "row_count",
        "checksum_high",
        "checksum_low",
    ]
    assert tree.args["group"] is not None
    # sqlglot reads HASHBYTES('SHA2_256', x) as SHA2(x, 256).
    hashes = list(tree.find_all(exp.SHA2))
    assert len(hashes) == 1
    assert hashes[0].args["length"].this == "256"
    assert "HASHBYTES('SHA2_256', CONCAT(" in text
    concat = hashes[0].this
    assert isinstance(concat, exp.Concat)
    # One varchar(max) first (CONCAT would stop at 8,000 bytes otherwise), then per column:
    # DATALENGTH(text), ':', text — length-prefixed, so the encoding is injective.
    assert concat.expressions[0].sql("tsql") == "CONVERT(VARCHAR(MAX), '')"
    assert len(concat.expressions) == 1 + 3 * len(t.columns)
    for c in t.columns:
        assert f"[{t.name}].[{c.name}]" in text
        if c.kind == "uid":
            assert f"DATALENGTH(CONVERT(char(36), dbo.[{t.name}].[{c.name}]))" in text
    assert f"FROM dbo.[{t.name}]" in text
    assert "SUBSTRING(fingerprinted._row_hash, 1, 4)" in text
    assert "SUBSTRING(fingerprinted._row_hash, 5, 4)" in text


def test_row_hash_distinguishes_null_empty_and_column_shifts() -> None:
    assert row_hash_bytes(None, b"a") != row_hash_bytes(b"", b"a")
    assert row_hash_bytes(b"ab", b"c") != row_hash_bytes(b"a", b"bc")
    assert row_hash_bytes(b"a", b"b") != row_hash_bytes(b"b", b"a")
    assert row_hash_bytes(b"x") == row_hash_bytes(b"x")
    assert -(2**63) <= row_hash_bytes(b"\xff\xfe invalid utf-8") < 2**63
    # its own function: not the content hash the *_matches_source checks compare
    assert row_hash_bytes(b"x", None) != int(
        hash_columns([np.array([b"x"], dtype=object), np.array([None], dtype=object)])[0]
    )


@pytest.fixture
def source(demo_source: Path, tmp_path: Path) -> Path:
    path = tmp_path / "source.sqlite"
    shutil.copy(demo_source, path)
    return path


def _fingerprints(path: Path, name: str) -> dict:
    return LegacySourceResource(url=f"sqlite:///{path}").fingerprints(table(name))


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_sqlite_counts_match_the_partition_counts(source: Path) -> None:
    resource = LegacySourceResource(url=f"sqlite:///{source}")
    for t in TABLES:
        fingerprints = resource.fingerprints(t)
        assert {k: f.rows for k, f in fingerprints.items()} == resource.partition_counts(t)


def test_fingerprints_of_some_partitions_are_those_of_the_whole_table(source: Path) -> None:
    resource = LegacySourceResource(url=f"sqlite:///{source}")
    t = table("Verlauf")
    whole = resource.fingerprints(t)
    some = sorted(whole)[:2]
    assert resource.fingerprints(t, [*some, "1066"]) == {k: whole[k] for k in some}


def _dated_rows(db: sqlite3.Connection) -> list[tuple[str, str]]:
    return db.execute(
        "SELECT verl_ID, substr(verl_Datum, 1, 4) FROM Verlauf"
        " WHERE verl_Datum BETWEEN '2001-01-01' AND '2020-12-31' ORDER BY verl_ID LIMIT 8"
    ).fetchall()


def test_each_change_touches_exactly_its_partitions(source: Path) -> None:
    before = _fingerprints(source, "Verlauf")
    with sqlite3.connect(source) as db:
        rows = _dated_rows(db)
    changes = [  # (SET clause, row): one character, NULL <-> '', trailing space, swap
        ("verl_Kommentar = coalesce(verl_Kommentar, '') || 'x'", 0),
        ("verl_Hinweis = CASE WHEN verl_Hinweis IS NULL THEN '' END", 1),
        ("verl_Flur = coalesce(verl_Flur, '') || ' '", 2),
        ("verl_Flur = verl_Parzelle, verl_Parzelle = verl_Flur", 3),
    ]
    statements = [(f"UPDATE Verlauf SET {change} WHERE verl_ID = ?", i) for change, i in changes]
    statements.append(("DELETE FROM Verlauf WHERE verl_ID = ?", 4))
    for statement, i in statements:
        with sqlite3.connect(source) as db:
            old = db.execute("SELECT * FROM Verlauf WHERE verl_ID = ?", (rows[i][0],)).fetchall()
            db.execute(statement, (rows[i][0],))
            new = db.execute("SELECT * FROM Verlauf WHERE verl_ID = ?", (rows[i][0],)).fetchall()
        if old == new:
            continue  # (swapping two equal values is no change)
        after = _fingerprints(source, "Verlauf")
        assert _changed(before, after) == {rows[i][1]}, statement
        before = after
    # A row moving to another year changes both years.
    with sqlite3.connect(source) as db:
        db.execute(
            "UPDATE Verlauf SET verl_Datum = '2031-05-01 10:00:00.000' WHERE verl_ID = ?",
            (rows[5][0],),
        )
    after = _fingerprints(source, "Verlauf")
    assert _changed(before, after) == {rows[5][1], "2031"}
    moved_from = rows[5][1]
    assert after["2031"].rows == (before["2031"].rows if "2031" in before else 0) + 1
    assert after.get(moved_from) is None or after[moved_from].rows == before[moved_from].rows - 1


def test_an_exact_duplicate_changes_the_unpartitioned_fingerprint(source: Path) -> None:
    before = _fingerprints(source, "Bezirk")
    with sqlite3.connect(source) as db:
        db.execute("INSERT INTO Bezirk SELECT * FROM Bezirk LIMIT 1")
        db.execute("INSERT INTO Bezirk SELECT * FROM Bezirk LIMIT 1")
    after = _fingerprints(source, "Bezirk")
    assert set(after) == {"all"}
    assert after["all"].rows == before["all"].rows + 2
    assert (after["all"].high, after["all"].low) != (before["all"].high, before["all"].low)
    assert _fingerprints(source, "Bezirk") == after, "deterministic"
