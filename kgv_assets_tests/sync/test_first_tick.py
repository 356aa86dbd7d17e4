"""The sensor's first tick on an instance where nothing was migrated yet.

It fingerprints the source, registers every year it finds as a partition and requests no run
(initial loads are full_migration's job); its cursor — the fingerprints it saw — stays small.
A real (empty) PostgreSQL database and the SQLite demo source; Dagster's sensor testing API.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from kgv_assets.definitions import defs
from kgv_assets.defs.automation.sync import legacy_changes_sensor
from kgv_assets.legacy.catalogue import table
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.sync.changes import decode_cursor


def test_first_tick_with_nothing_migrated_registers_years_and_requests_nothing(
    pg_url: str, demo_source: Path
) -> None:
    source = LegacySourceResource(url=f"sqlite:///{demo_source}")
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance,
            definitions=defs(),
            resources={"legacy_source": source, "postgres": PostgresResource(url=pg_url)},
        ) as context,
    ):
        result = legacy_changes_sensor(context)
    assert isinstance(result, dg.SensorResult)
    assert not result.run_requests and result.skip_reason
    added = [k for r in result.dynamic_partitions_requests or [] for k in r.partition_keys or []]
    assert set(added) == source.partition_keys()
    assert result.cursor and len(result.cursor) < 16_000
    seen, tick = decode_cursor(result.cursor)
    assert tick == 1 and seen is not None
    assert {k: f.rows for k, f in seen["Verlauf"].items()} == source.partition_counts(
        table("Verlauf")
    )
