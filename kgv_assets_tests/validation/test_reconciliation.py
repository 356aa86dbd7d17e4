"""Reconciliation (``kgv_assets.validation.reconciliation``) on a real migrated database.

Passes on the migrated demo data for every table and both stages; fails when a target or
staging row is deleted, when a recorded count is altered (still satisfying its CHECK
constraint), and when the source holds a partition no load recorded; a failure outside the
partitions checked is not seen.
"""

from __future__ import annotations

import psycopg
import pytest

from kgv_assets.legacy.catalogue import TABLES, table
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.validation.reconciliation import reconcile, staging_ledger, target_ledger
from kgv_assets.validation.registry import TABLE_CHECKS
from kgv_assets_tests.conftest import Migrated

pytestmark = pytest.mark.slow
ANTRAG = target_ledger("Antrag", "applications")


@pytest.fixture(scope="module")
def source(migrated: Migrated) -> LegacySourceResource:
    return LegacySourceResource(url=migrated.source_url)


def _partition_with_rows(conn: psycopg.Connection) -> tuple[str, str]:
    """A dated partition of kgv.applications and the id of one of its rows."""
    row = conn.execute(
        "SELECT legacy_partition, id::text FROM kgv.applications"
        " WHERE legacy_partition <> 'undated' ORDER BY legacy_partition, id LIMIT 1"
    ).fetchone()
    assert row
    return row[0], row[1]


def test_every_table_reconciles_after_the_migration(
    tx: psycopg.Connection, source: LegacySourceResource
) -> None:
    for spec in TABLE_CHECKS:
        if spec.ledger and spec.source:
            outcome = reconcile(tx, spec.ledger, source.partition_counts(spec.source))
            assert outcome.passed, outcome.summary
            frame = outcome.tables["per_partition"]
            assert set(frame["status"]) == {"ok"}
            assert outcome.figures["source_rows"] == sum(
                source.partition_counts(spec.source).values()
            )
    for t in TABLES:
        outcome = reconcile(tx, staging_ledger(t.name), source.partition_counts(t))
        assert outcome.passed, outcome.summary


def test_a_deleted_target_row_fails_in_its_partition_only(
    tx: psycopg.Connection, source: LegacySourceResource
) -> None:
    partition, key = _partition_with_rows(tx)
    tx.execute("DELETE FROM kgv.application_history WHERE application_id = %s", (key,))
    tx.execute("DELETE FROM kgv.applications WHERE id = %s", (key,))
    counts = source.partition_counts(table("Antrag"))

    outcome = reconcile(tx, ANTRAG, counts)
    assert not outcome.passed and outcome.severity == "ERROR"
    assert outcome.figures["rows_unaccounted"] == 1
    assert outcome.samples["partitions_failing"] == [partition]
    failing = outcome.tables["per_partition"].set_index("partition").loc[partition]
    assert "source ≠ loaded + quarantined" in failing["status"]
    assert "recorded ≠ recounted" in failing["status"]

    other = next(k for k in counts if k != partition)
    assert reconcile(tx, ANTRAG, counts, [other]).passed
    assert not reconcile(tx, ANTRAG, counts, [partition]).passed


def test_an_altered_reconciliation_count_fails(
    tx: psycopg.Connection, source: LegacySourceResource
) -> None:
    partition, _ = _partition_with_rows(tx)
    # Still source = loaded + quarantined (the CHECK constraint holds), but not what is there.
    tx.execute(
        "UPDATE migration.reconciliation SET loaded_rows = loaded_rows - 1,"
        " quarantined_rows = quarantined_rows + 1"
        " WHERE source_table = 'Antrag' AND stage = 'target' AND partition = %s",
        (partition,),
    )
    outcome = reconcile(tx, ANTRAG, source.partition_counts(table("Antrag")))
    assert not outcome.passed
    assert outcome.figures["rows_unaccounted"] == 0
    assert outcome.samples["partitions_failing"] == [partition]
    assert "recorded ≠ recounted" in outcome.summary


def test_a_deleted_staging_row_fails_the_staging_stage(
    tx: psycopg.Connection, source: LegacySourceResource
) -> None:
    tx.execute(
        'DELETE FROM staging."Personen" WHERE ctid = (SELECT min(ctid) FROM staging."Personen")'
    )
    outcome = reconcile(tx, staging_ledger("Personen"), source.partition_counts(table("Personen")))
    assert not outcome.passed
    assert outcome.samples["partitions_failing"] == ["all"]


def test_a_partition_nobody_loaded_fails(
    tx: psycopg.Connection, source: LegacySourceResource
) -> None:
    counts = {**source.partition_counts(table("Antrag")), "2099": 5}
    outcome = reconcile(tx, ANTRAG, counts)
    assert not outcome.passed
    row = outcome.tables["per_partition"].set_index("partition").loc["2099"]
    assert (row["source"], row["loaded"]) == (5, 0)
    assert "no load recorded" in row["status"]
