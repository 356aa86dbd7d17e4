"""A server upgrade changes the fingerprint strategy: a clean re-baseline, not a reload storm.

The demo source was migrated with SQLite's strategy (``sqlite_blake2b``, recorded with every
fingerprint). The same source is then fingerprinted by another real strategy — the client-side
one of SQL Server 2000, which runs on any source — as after an upgrade of the server: every
checksum differs, yet only the partition whose row count changed is requested, the others are
re-baselined (their new fingerprints recorded, nothing reloaded), and the next pass neither
re-baselines nor reports anything again. Real PostgreSQL, real SQLite, the real sync pass.
"""

from __future__ import annotations

import sqlite3

import psycopg

from kgv_assets.definitions import defs
from kgv_assets.legacy.dialects import MSSQL_2000, SQLITE
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.sync.passes import evaluate_pass
from kgv_assets_tests.sync.conftest import MigratedCopy


def _strategies(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return dict(
            conn.execute(
                "SELECT coalesce(strategy, 'NULL'), count(*)"
                " FROM migration.partition_fingerprints GROUP BY 1"
            ).fetchall()
        )


def test_a_strategy_switch_rebaselines_once_and_reloads_only_real_changes(
    migrated_copy: MigratedCopy,
) -> None:
    recorded = _strategies(migrated_copy.url)
    assert set(recorded) == {SQLITE.name}, "loads record their strategy"
    partitions = recorded[SQLITE.name]
    with sqlite3.connect(migrated_copy.source) as db:
        (verl_id, year) = db.execute(
            "SELECT verl_ID, substr(verl_Datum, 1, 4) FROM Verlauf"
            " WHERE verl_Datum BETWEEN '2005-01-01' AND '2015-12-31' ORDER BY verl_ID LIMIT 1"
        ).fetchone()
        db.execute("DELETE FROM Verlauf WHERE verl_ID = ?", (verl_id,))

    upgraded = LegacySourceResource(
        url=migrated_copy.source_url, fingerprint_strategy=MSSQL_2000.name
    )
    postgres = PostgresResource(url=migrated_copy.url)
    repository = defs().get_repository_def()
    first = evaluate_pass(upgraded, postgres, migrated_copy.instance, repository)
    assert first.changes.partitions == {"Verlauf": [year]}, "only the row count that changed"
    assert first.changes.reference_tables == []
    assert first.rebaselined and f"re-baselined {partitions - 1} unchanged partitions" in (
        first.rebaselined
    )
    assert {r.tags.get("kgv/sync_step") for r in first.run_requests} <= {
        "partitions",
        "dependents",
    }
    assert _strategies(migrated_copy.url) == {MSSQL_2000.name: partitions - 1, SQLITE.name: 1}

    second = evaluate_pass(upgraded, postgres, migrated_copy.instance, repository)
    assert second.rebaselined is None, "the switch is reported once"
    assert second.changes.partitions == {"Verlauf": [year]}, "the real change is still due"
    assert _strategies(migrated_copy.url) == {MSSQL_2000.name: partitions - 1, SQLITE.name: 1}
