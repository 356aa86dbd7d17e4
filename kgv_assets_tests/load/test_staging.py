"""Landing legacy tables in staging: lossless text, quarantine with reasons, idempotent partitions.

Runs against real PostgreSQL (a fresh database per test) with SQLite sources, read directly and
through the SQLite ODBC driver as SQL Server is read (arrow-odbc).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from kgv_assets.layout import HASH_COLUMN, PARTITION_COLUMN
from kgv_assets.legacy.catalogue import TABLES, Table, table
from kgv_assets.load.quarantine import decode_raw_value
from kgv_assets.load.staging import stage_table
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.schema_migrations import apply_sql_files
from kgv_assets_tests.conftest import write_mischenfelder
from kgv_assets_tests.resources.test_copy_format import NASTY
from kgv_assets_tests.resources.test_odbc import SqliteOverOdbc

MISCH = table("Mischenfelder")


def _uid(i: int) -> str:
    return f"00000000-0000-0000-0000-{i:012d}"


def _mischenfelder_source(tmp_path: Path, values: list[str | None]) -> LegacySourceResource:
    path = tmp_path / "misch.sqlite"
    write_mischenfelder(path, [(_uid(i), "an_Vorname", "Vorname", v) for i, v in enumerate(values)])
    return LegacySourceResource(url=f"sqlite:///{path}")


@pytest.fixture
def target(pg: psycopg.Connection) -> psycopg.Connection:
    apply_sql_files(pg)
    return pg


def test_nasty_text_round_trips_and_nul_is_quarantined(
    tmp_path: Path, target: psycopg.Connection
) -> None:
    values = [*NASTY, None, "before\x00after", "x" * 101]
    source = _mischenfelder_source(tmp_path, values)
    result = stage_table(source, target, MISCH, None, "run-1")

    staged = dict(
        target.execute('SELECT "misch_ID"::text, "misch_Kommentar" FROM staging."Mischenfelder"')
    )
    expected = {_uid(i): v for i, v in enumerate(values[: len(NASTY) + 1])}
    assert staged == expected, "every storable value lands unchanged, NULL stays NULL"

    rejected = target.execute(
        "SELECT source_key, reasons, raw_row, stage, partition FROM migration.rejected_rows"
        " ORDER BY source_key"
    ).fetchall()
    assert [r[0] for r in rejected] == [_uid(len(NASTY) + 1), _uid(len(NASTY) + 2)]
    nul, long = rejected
    assert nul[1] == ["misch_Kommentar: NUL byte (PostgreSQL text cannot hold U+0000)"]
    assert decode_raw_value(nul[2]["misch_Kommentar"]) == "before\x00after", "kept, not altered"
    assert long[1] == ["misch_Kommentar: longer than varchar(100)"]
    assert long[2]["misch_Kommentar"] == "x" * 101
    assert {r[3] for r in rejected} == {"legacy"} and {r[4] for r in rejected} == {"all"}
    assert (result.source_rows, result.loaded_rows, result.quarantined_rows) == (
        len(values),
        len(values) - 2,
        2,
    )


def test_values_sql_server_could_not_hold_are_quarantined(
    tmp_path: Path, target: psycopg.Connection
) -> None:
    path = tmp_path / "src.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE Eingangsnummer (enr_ID uniqueidentifier, enr_Bezirk varchar(10),"
            " enr_Nummer int, enr_Jahr int)"
        )
        db.executemany(
            "INSERT INTO Eingangsnummer VALUES (?, ?, ?, ?)",
            [
                (_uid(1), "32", 1, 2019),
                (_uid(2), "32", "12a", 2019),
                ("not-a-guid", "32", 3, 2019),
                (None, "32", 4, 2019),
                (_uid(5), "32", 99999999999, None),
            ],
        )
    source = LegacySourceResource(url=f"sqlite:///{path}")
    stage_table(source, target, table("Eingangsnummer"), ["2019", "undated"], "run-1")
    reasons = target.execute(
        "SELECT raw_row->>'enr_Nummer', reasons, partition FROM migration.rejected_rows ORDER BY 1"
    ).fetchall()
    assert reasons == [
        ("12a", ["enr_Nummer: not an int (32-bit integer)"], "2019"),
        ("3", ["enr_ID: not a uniqueidentifier"], "2019"),
        ("4", ["enr_ID: NULL in a NOT NULL column"], "2019"),
        ("99999999999", ["enr_Nummer: not an int (32-bit integer)"], "undated"),
    ]
    staged = target.execute('SELECT "enr_ID"::text, "enr_Nummer" FROM staging."Eingangsnummer"')
    assert staged.fetchall() == [(_uid(1), 1)]


def test_every_table_and_partition_reconciles(
    demo_source: Path, target: psycopg.Connection
) -> None:
    source = LegacySourceResource(url=f"sqlite:///{demo_source}", chunk_rows=700)
    for t in TABLES:
        keys = sorted(source.partition_counts(t)) if t.is_partitioned else None
        stage_table(source, target, t, keys, "run-1")
        expected = source.partition_counts(t)
        staged = dict(
            target.execute(
                sql.SQL("SELECT _partition, count(*) FROM {} GROUP BY 1").format(
                    sql.Identifier("staging", t.name)
                )
            ).fetchall()
        )
        rejected = dict(
            target.execute(
                "SELECT partition, count(*) FROM migration.rejected_rows"
                " WHERE source_table = %s GROUP BY 1",
                (t.name,),
            ).fetchall()
        )
        for key, n in expected.items():
            assert staged.get(key, 0) + rejected.get(key, 0) == n, (t.name, key)
        recorded = dict(
            target.execute(
                "SELECT partition, source_rows FROM migration.reconciliation"
                " WHERE source_table = %s AND stage = 'staging'",
                (t.name,),
            ).fetchall()
        )
        assert recorded == expected, t.name
    total_rejected = target.execute("SELECT count(*) FROM migration.rejected_rows").fetchone()
    assert total_rejected and total_rejected[0] > 0, "the demo's planted dirt is quarantined"


def test_partition_reload_replaces_only_that_partition(
    demo_source: Path, tmp_path: Path, target: psycopg.Connection
) -> None:
    src = tmp_path / "src.sqlite"
    shutil.copy(demo_source, src)
    source = LegacySourceResource(url=f"sqlite:///{src}")
    verlauf = table("Verlauf")
    counts = source.partition_counts(verlauf)
    a, b = sorted(k for k, n in counts.items() if k != "undated" and n > 0)[-2:]
    stage_table(source, target, verlauf, [a], "run-a")
    stage_table(source, target, verlauf, [b], "run-b")

    with sqlite3.connect(src) as db:
        (victim,) = db.execute(
            "SELECT verl_ID FROM Verlauf WHERE strftime('%Y', verl_Datum) = ? LIMIT 1", (a,)
        ).fetchone()
        db.execute("UPDATE Verlauf SET verl_Kommentar = 'geändert' WHERE verl_ID = ?", (victim,))
        db.execute(
            "INSERT INTO Verlauf (verl_ID, verl_Datum) VALUES (?, ?)",
            ("11111111-2222-3333-4444-555555555555", f"{a}-06-01 12:00:00"),
        )
    stage_table(source, target, verlauf, [a], "run-a2")

    per_partition = dict(
        target.execute('SELECT _partition, count(*) FROM staging."Verlauf" GROUP BY 1').fetchall()
    )
    rejected = dict(
        target.execute(
            "SELECT partition, count(*) FROM migration.rejected_rows GROUP BY 1"
        ).fetchall()
    )
    assert per_partition[a] + rejected.get(a, 0) == counts[a] + 1, "replaced, not added"
    assert per_partition[b] + rejected.get(b, 0) == counts[b], "the other partition untouched"
    runs = dict(target.execute('SELECT _partition, min(_run_id) FROM staging."Verlauf" GROUP BY 1'))
    assert runs == {a: "run-a2", b: "run-b"}
    changed = target.execute(
        'SELECT "verl_Kommentar" FROM staging."Verlauf" WHERE "verl_ID" = %s', (victim,)
    ).fetchone()
    assert changed == ("geändert",)


def test_bytes_that_are_not_utf8_are_quarantined_with_their_bytes(
    tmp_path: Path, target: psycopg.Connection
) -> None:
    source = _mischenfelder_source(tmp_path, ["gut", "auch gut"])
    path = tmp_path / "misch.sqlite"
    with sqlite3.connect(path) as db:  # SQLite stores whatever bytes a client hands it
        db.execute(
            "INSERT INTO Mischenfelder VALUES (?, 'an_Name', 'Name', ?)",
            (_uid(9), b"M\xfcller cp1252"),
        )
    result = stage_table(source, target, MISCH, None, "run-1")
    rejected = target.execute(
        "SELECT source_key, reasons, raw_row FROM migration.rejected_rows"
    ).fetchall()
    assert [(r[0], r[1]) for r in rejected] == [(_uid(9), ["misch_Kommentar: not valid UTF-8"])]
    kept = decode_raw_value(rejected[0][2]["misch_Kommentar"])
    assert isinstance(kept, str)
    assert kept.encode("utf-8", "surrogateescape") == b"M\xfcller cp1252", "the bytes, unaltered"
    assert (result.loaded_rows, result.quarantined_rows) == (2, 1)
    # Where the load's time went (make bench's per-stage table): parts within the whole.
    assert {"extract", "validate", "write"} <= set(result.parts)
    assert 0 < sum(result.parts.values()) <= result.seconds


def test_chunks_with_and_without_invalid_bytes_land_alike(
    tmp_path: Path, target: psycopg.Connection
) -> None:
    """Chunks of two rows: valid ones COPY from polars (csv), the one with bad bytes as text."""
    values = [*NASTY, None]
    source = _mischenfelder_source(tmp_path, values)
    with sqlite3.connect(tmp_path / "misch.sqlite") as db:
        db.execute(
            "INSERT INTO Mischenfelder VALUES (?, 'an_Name', 'Name', ?)", (_uid(99), b"\xff")
        )
    source = LegacySourceResource(url=source.url, chunk_rows=2)
    result = stage_table(source, target, MISCH, None, "run-1")
    staged = dict(
        target.execute('SELECT "misch_ID"::text, "misch_Kommentar" FROM staging."Mischenfelder"')
    )
    assert staged == {_uid(i): v for i, v in enumerate(values)}
    assert (result.loaded_rows, result.quarantined_rows) == (len(values), 1)


def test_the_load_fingerprints_exactly_what_it_read(
    demo_source: Path, target: psycopg.Connection
) -> None:
    """SQLite: fingerprints summed in the staging read = the source's own fingerprint query."""
    source = LegacySourceResource(url=f"sqlite:///{demo_source}", chunk_rows=700)
    assert source.fingerprints_while_reading
    for t in TABLES:
        keys = sorted(source.partition_counts(t))[:3] if t.is_partitioned else None
        stage_table(source, target, t, keys, "run-1")
        recorded = {
            partition: (rows, high, low)
            for partition, rows, high, low in target.execute(
                "SELECT partition, row_count, checksum_high, checksum_low"
                " FROM migration.partition_fingerprints WHERE source_table = %s",
                (t.name,),
            )
        }
        expected = {k: (f.rows, f.high, f.low) for k, f in source.fingerprints(t, keys).items()}
        assert recorded == expected, t.name


def _staged(conn: psycopg.Connection, t: Table) -> Counter[tuple[object, ...]]:
    """The rows in ``staging."<t>"``: legacy columns, partition and content hash."""
    columns = sql.SQL(", ").join(
        sql.Identifier(c) for c in [*t.column_names, PARTITION_COLUMN, HASH_COLUMN]
    )
    query = sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier("staging", t.name))
    return Counter(conn.execute(query).fetchall())


def test_a_load_through_odbc_lands_the_rows_of_the_sqlite_source(
    demo_source: Path, target: psycopg.Connection
) -> None:
    """arrow-odbc's frames COPied as csv land what the SQLite source lands, partition for partition.

    But for the demo's values with NUL: the SQLite ODBC driver cuts them there, so the three
    rows the direct read quarantines ("NUL") land through ODBC with the text before the NUL.
    """
    plain = LegacySourceResource(url=f"sqlite:///{demo_source}", chunk_rows=700)
    odbc = SqliteOverOdbc(url=f"sqlite:///{demo_source}", chunk_rows=700)
    assert not odbc.fingerprints_while_reading
    for t in TABLES:
        keys = sorted(plain.partition_counts(t)) if t.is_partitioned else None
        through_odbc = stage_table(odbc, target, t, keys, "run-odbc", plain.fingerprints(t, keys))
        landed_odbc = _staged(target, t)
        direct = stage_table(plain, target, t, keys, "run-sqlite")
        landed_direct = _staged(target, t)
        assert through_odbc.source_rows == direct.source_rows > 0, t.name
        assert not landed_direct - landed_odbc, t.name
        extra = landed_odbc - landed_direct
        if t.name != "Antrag":
            assert not extra, t.name
            assert through_odbc.quarantined_rows == direct.quarantined_rows, t.name
            continue
        vermerk = t.column_names.index("an_Vermerk")
        assert sorted(str(row[vermerk]) for row in extra.elements()) == [
            "",
            "Notiz mit",
            "Notiz mit",
        ]
        assert through_odbc.quarantined_rows == direct.quarantined_rows - 3
