"""The content check (``kgv_assets.validation.content``) on a real migrated database.

Passes on the migrated demo data for every table. Fails — naming the keys, never values —
when a source value changes after the migration (a copy of the SQLite source is edited), when
a target row is deleted (missing), and when the quarantine holds a row the source does not
have (extra); a key-less table reports a changed row as missing + extra row hashes. The
aggregate comparison (count and hash sums per partition) sends exactly the partitions with a
changed, added or dropped row to the row-by-row comparison.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import polars as pl
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kgv_assets.defs.checks.factory import StepSource
from kgv_assets.legacy.catalogue import table
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.validation.content import (
    ContentSpec,
    aggregates,
    differing_partitions,
    matches_source,
    source_hashes,
)
from kgv_assets.validation.outcome import Outcome
from kgv_assets.validation.registry import CHECKS_BY_TABLE, TABLE_CHECKS
from kgv_assets_tests.conftest import Migrated

pytestmark = pytest.mark.slow
APPLICATIONS = CHECKS_BY_TABLE["applications"].content
LINKS = CHECKS_BY_TABLE["district_cadastral_links"].content


def _compare(
    conn: psycopg.Connection,
    spec: ContentSpec | None,
    source_url: str,
    partitions: list[str] | None = None,
) -> Outcome:
    assert spec is not None
    source = LegacySourceResource(url=source_url, chunk_rows=500)
    hashes = source_hashes(spec, source.read_batches(spec.source, partitions))
    return matches_source(conn, spec, hashes, partitions)


@pytest.fixture
def edited_source(migrated: Migrated, tmp_path: Path) -> Path:
    """A copy of the demo source that the test may change."""
    path = tmp_path / "edited.sqlite"
    shutil.copy(migrated.source_url.removeprefix("sqlite:///"), path)
    return path


def test_every_table_matches_its_source(tx: psycopg.Connection, migrated: Migrated) -> None:
    for spec in TABLE_CHECKS:
        if spec.content:
            outcome = _compare(tx, spec.content, migrated.source_url)
            assert outcome.passed, (spec.name, outcome.summary)
            assert outcome.figures["rows_matching"] == outcome.figures["source_rows"] > 0


def test_a_value_changed_in_the_source_is_reported_by_key(
    tx: psycopg.Connection, migrated: Migrated, edited_source: Path
) -> None:
    partition, key = tx.execute(
        "SELECT legacy_partition, id::text FROM kgv.applications"
        " WHERE legacy_partition <> 'undated' ORDER BY 1, 2 LIMIT 1"
    ).fetchone() or ("", "")
    with sqlite3.connect(edited_source) as src:
        changed = src.execute(
            "UPDATE Antrag SET an_Ort = an_Ort || 'x' WHERE lower(an_ID) = ?", (key,)
        ).rowcount
    assert changed == 1

    outcome = _compare(tx, APPLICATIONS, f"sqlite:///{edited_source}")
    assert not outcome.passed and outcome.severity == "ERROR"
    assert (outcome.figures["rows_changed"], outcome.figures["rows_missing"]) == (1, 0)
    assert outcome.figures["rows_extra"] == 0
    assert outcome.samples == {"changed": [key]}
    per_partition = outcome.tables["per_partition"].set_index("partition")
    assert per_partition.loc[partition, "changed"] == 1
    assert per_partition["changed"].sum() == 1

    other = next(p for p in per_partition.index if p != partition)
    assert _compare(tx, APPLICATIONS, f"sqlite:///{edited_source}", [other]).passed


def test_a_deleted_target_row_is_missing(tx: psycopg.Connection, migrated: Migrated) -> None:
    key = tx.execute("SELECT id::text FROM kgv.entry_numbers ORDER BY id LIMIT 1").fetchone()
    assert key
    tx.execute("DELETE FROM kgv.entry_numbers WHERE id = %s", key)
    outcome = _compare(tx, CHECKS_BY_TABLE["entry_numbers"].content, migrated.source_url)
    assert not outcome.passed
    assert outcome.figures["rows_missing"] == 1
    assert outcome.samples == {"missing": [key[0]]}


def test_a_row_the_source_does_not_have_is_extra(
    tx: psycopg.Connection, migrated: Migrated
) -> None:
    stranger = str(uuid.uuid4())
    tx.execute(
        "INSERT INTO migration.rejected_rows (source_table, source_key, partition, stage,"
        " reasons, raw_row, row_hash, run_id)"
        " VALUES ('Antrag', %s, 'undated', 'target', ARRAY['test'], '{\"an_ID\": 1}', 42, 'test')",
        (stranger,),
    )
    outcome = _compare(tx, APPLICATIONS, migrated.source_url)
    assert not outcome.passed
    assert (outcome.figures["rows_extra"], outcome.figures["rows_missing"]) == (1, 0)
    assert outcome.samples == {"extra": [stranger]}


def test_a_keyless_table_reports_row_hashes(
    tx: psycopg.Connection, migrated: Migrated, edited_source: Path
) -> None:
    with sqlite3.connect(edited_source) as src:
        src.execute(
            "UPDATE Bezirke_Katasterbezirke SET kat_KatasterbezirkName = 'anders'"
            " WHERE rowid = (SELECT min(rowid) FROM Bezirke_Katasterbezirke)"
        )
    assert table("Bezirke_Katasterbezirke").key_column is None
    outcome = _compare(tx, LINKS, f"sqlite:///{edited_source}")
    assert not outcome.passed
    assert (outcome.figures["rows_missing"], outcome.figures["rows_extra"]) == (1, 1)
    assert outcome.figures["rows_changed"] == 0
    assert all(k.startswith("row hash ") for keys in outcome.samples.values() for k in keys)


def _hashes(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"partition": pl.String, "key": pl.String, "row_hash": pl.Int64}, orient="row"
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["2019", "2020", "undated"]),
            st.uuids().map(str),
            st.integers(-(2**63), 2**63 - 1),
        ),
        min_size=1,
        max_size=30,
    ),
    st.data(),
)
def test_only_partitions_whose_rows_differ_are_compared_row_by_row(
    rows: list[tuple[str, str, int]], data: st.DataObject
) -> None:
    source = _hashes(rows)
    assert differing_partitions(source, aggregates(source)) == []
    i = data.draw(st.integers(0, len(rows) - 1))
    partition, key, value = rows[i]
    changed = _hashes([*rows[:i], (partition, key, value ^ 1), *rows[i + 1 :]])
    assert differing_partitions(source, aggregates(changed)) == [partition]
    dropped = _hashes(rows[:i] + rows[i + 1 :])
    assert differing_partitions(source, aggregates(dropped)) == [partition]


def test_a_check_step_reads_a_table_once_and_counts_the_same(demo_source: Path) -> None:
    """The step's counts taken from the content check's rows equal the source's own count.

    Per partition, for every table with a content check, over every partition and over some.
    """
    source = LegacySourceResource(url=f"sqlite:///{demo_source}", chunk_rows=5_000)
    specs = [spec.content for spec in TABLE_CHECKS if spec.content is not None]
    step = StepSource(source, None, specs)
    for spec in specs:
        assert step.partition_counts(spec.source) == source.partition_counts(spec.source)
        assert step.hashes(spec) is step.hashes(spec), "read once per step"
        # Decoding only the key column hashes the same rows as reading every column.
        whole = source_hashes(spec, source.read_batches(spec.source))
        assert step.hashes(spec).sort(pl.all()).equals(whole.sort(pl.all())), spec.source.name
    counted = [spec.source.name for spec in specs if spec.source.is_partitioned]
    assert counted, "the demo has partitioned tables with content checks"
    antrag = next(spec for spec in specs if spec.source.name == "Antrag")
    scoped = StepSource(source, ["2021"], [antrag])
    assert scoped.partition_counts(antrag.source) == source.partition_counts(
        antrag.source, ["2021"]
    )
    assert set(scoped.hashes(antrag)["partition"].unique()) == {"2021"}
