"""Cross-partition dependents are stale exactly when the parent columns they look up changed.

On a real full migration (a copy of the session's shared one): every change is made in a
transaction that is rolled back, so the copy stays as migrated.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from kgv_assets.sync.dependencies import looked_up, parent_fingerprint, stale
from kgv_assets_tests.conftest import Migrated, copy_database, drop_database

DEPENDENTS = ["applications", "application_history"]


@pytest.fixture(scope="module")
def conn(shared_migration: Migrated) -> Iterator[psycopg.Connection]:
    url = copy_database(shared_migration.url, "kgv_dependencies")
    try:
        with psycopg.connect(url) as connection:
            yield connection
    finally:
        drop_database(url)


@pytest.fixture
def tx(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Changes made here are rolled back after the test (audit triggers run as usual)."""
    with conn.transaction(force_rollback=True):
        yield conn


def test_the_full_migration_recorded_what_each_dependent_looked_up(
    conn: psycopg.Connection,
) -> None:
    recorded = conn.execute(
        "SELECT target_table, parent_table, fingerprint FROM migration.dependency_fingerprints"
        " ORDER BY 1"
    ).fetchall()
    assert [(t, p) for t, p, _ in recorded] == [
        ("application_history", "applications"),
        ("applications", "file_references"),
    ]
    declared = looked_up()
    for target, parent, fingerprint in recorded:
        assert fingerprint == parent_fingerprint(conn, parent, declared[target][parent])
    assert stale(conn, DEPENDENTS) == []


def test_an_update_of_columns_nobody_looks_up_leaves_them_current(
    tx: psycopg.Connection,
) -> None:
    changed = tx.execute(
        "UPDATE kgv.applications SET city = 'Neustadt', remarks = 'x'"
        " WHERE id IN (SELECT id FROM kgv.applications ORDER BY id LIMIT 50)"
    ).rowcount
    assert changed == 50
    tx.execute("UPDATE kgv.file_references SET id = id WHERE false")
    assert stale(tx, DEPENDENTS) == []


def test_a_deleted_application_makes_the_history_stale(tx: psycopg.Connection) -> None:
    tx.execute(
        "DELETE FROM kgv.applications WHERE id = (SELECT application_id"
        " FROM kgv.application_history ORDER BY id LIMIT 1)"
    )
    assert stale(tx, DEPENDENTS) == ["application_history"]


def test_a_renumbered_file_reference_makes_the_applications_stale(
    tx: psycopg.Connection,
) -> None:
    tx.execute(
        "UPDATE kgv.file_references SET number = number + 100000"
        " WHERE id = (SELECT id FROM kgv.file_references ORDER BY id LIMIT 1)"
    )
    assert stale(tx, DEPENDENTS) == ["applications"]


def test_without_a_record_a_dependent_is_stale(tx: psycopg.Connection) -> None:
    tx.execute(
        "DELETE FROM migration.dependency_fingerprints WHERE target_table = 'application_history'"
    )
    assert stale(tx, DEPENDENTS) == ["application_history"]
    assert stale(tx, ["users"]) == ["users"], "a table that declares no lookups: always reload"
