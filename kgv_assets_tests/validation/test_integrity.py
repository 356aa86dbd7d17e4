"""Keys, foreign keys and reporting views (``kgv_assets.validation.integrity``), on real data.

Passes on the migrated demo data. A duplicated key (in kgv.application_history, which has no
global primary key) and an orphan (inserted with foreign-key triggers off, as a bulk load with
``session_replication_role = replica`` would) fail with their keys; a change without a refresh
makes the reporting views stale.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from kgv_assets.validation.integrity import duplicate_keys, orphans, views_current
from kgv_assets.validation.registry import CHECKS_BY_TABLE, TABLE_CHECKS

pytestmark = pytest.mark.slow
HISTORY = CHECKS_BY_TABLE["application_history"]
VIEWS = [("kgv", "waiting_list_stats"), ("kgv", "applications_per_year_status")]


def test_keys_unique_and_references_resolve_after_the_migration(tx: psycopg.Connection) -> None:
    for spec in TABLE_CHECKS:
        outcome = duplicate_keys(tx, spec.table)
        assert outcome.passed, outcome.summary
        if spec.foreign_keys:
            outcome = orphans(tx, spec.table, spec.foreign_keys)
            assert outcome.passed, outcome.summary
    assert views_current(tx, VIEWS).passed


def test_a_duplicated_key_fails_with_the_key(tx: psycopg.Connection) -> None:
    row = tx.execute(
        "SELECT id::text, legacy_partition FROM kgv.application_history ORDER BY id LIMIT 1"
    ).fetchone()
    assert row
    key, partition = row
    tx.execute(
        "INSERT INTO kgv.application_history SELECT * FROM kgv.application_history WHERE id = %s",
        (key,),
    )
    outcome = duplicate_keys(tx, HISTORY.table)
    assert not outcome.passed and outcome.severity == "ERROR"
    assert outcome.figures["duplicate_rows"] == 2
    assert outcome.figures["unique_index"] == 0
    assert outcome.samples == {"duplicate_keys": [key]}
    assert duplicate_keys(tx, HISTORY.table, [partition]).figures["duplicate_rows"] == 2
    other = next(p for p in ("undated", "1995", "2026") if p != partition)
    assert duplicate_keys(tx, HISTORY.table, [other]).passed


def test_an_orphan_fails_with_its_key(tx: psycopg.Connection) -> None:
    key = tx.execute(
        "SELECT id::text, legacy_partition FROM kgv.application_history ORDER BY id LIMIT 1"
    ).fetchone()
    assert key
    tx.execute("SET LOCAL session_replication_role = replica")  # foreign-key triggers off
    tx.execute(
        "UPDATE kgv.application_history SET application_id = %s WHERE id = %s",
        (str(uuid.uuid4()), key[0]),
    )
    outcome = orphans(tx, HISTORY.table, HISTORY.foreign_keys)
    assert not outcome.passed
    assert outcome.figures["orphans_application_id"] == 1
    assert outcome.figures["orphans_event_type"] == 0
    assert outcome.samples == {"orphans_application_id": [key[0]]}
    # Counted in the orphan's partition, every other partition's figure 0.
    per_partition = outcome.tables["per_partition"].set_index("partition")
    assert per_partition["orphans_application_id"].to_dict() == {
        p: int(p == key[1]) for p in per_partition.index
    }
    assert per_partition["rows"].sum() == outcome.figures["rows"] > 1
    other = next(p for p in ("undated", "1995", "2026") if p != key[1])
    assert orphans(tx, HISTORY.table, HISTORY.foreign_keys, [other]).passed
    assert not orphans(tx, HISTORY.table, HISTORY.foreign_keys, [key[1]]).passed


def test_reporting_views_go_stale_without_a_refresh(tx: psycopg.Connection) -> None:
    tx.execute(
        "UPDATE kgv.applications SET is_active = NOT is_active"
        " WHERE id = (SELECT id FROM kgv.applications WHERE waiting_list_number_32 IS NOT NULL"
        " ORDER BY id LIMIT 1)"
    )
    outcome = views_current(tx, VIEWS)
    assert not outcome.passed
    assert outcome.figures["rows_differing_waiting_list_stats"] > 0
    tx.execute("SELECT kgv.refresh_reporting_views()")
    assert views_current(tx, VIEWS).passed


def test_a_key_a_unique_index_enforces_is_counted_in_scope_only(tx: psycopg.Connection) -> None:
    applications = CHECKS_BY_TABLE["applications"].table
    partition, rows = tx.execute(
        "SELECT legacy_partition, count(*) FROM kgv.applications GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone() or ("", 0)
    outcome = duplicate_keys(tx, applications, [partition])
    assert outcome.passed and outcome.figures["unique_index"] == 1
    assert outcome.figures["rows"] == rows, "every row of the partition, none of the others"
    assert "a unique index enforces it" in outcome.summary
