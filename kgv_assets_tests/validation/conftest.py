"""The validation tests share the session's migrated database and change it only in ``tx``."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from kgv_assets_tests.conftest import Migrated


@pytest.fixture(scope="package")
def migrated(shared_migration: Migrated) -> Migrated:
    """The session's full migration (read-only here: tests break data only inside ``tx``)."""
    return shared_migration


@pytest.fixture
def tx(migrated: Migrated) -> Iterator[psycopg.Connection]:
    """A connection in a transaction that is rolled back: break the data freely inside it."""
    with psycopg.connect(migrated.url) as conn:
        yield conn
        conn.rollback()
