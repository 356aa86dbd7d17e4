"""The benchmark's stage profile (``bench.stages``) read from a real run's event log.

A small partitioned job materialized on an ephemeral instance: a "staging" load and a ``kgv``
load that report ``seconds`` and ``seconds_*`` parts (repeated on every partition's
materialization, as the project's loads do), a check step and the report asset. The profile
must count each load's parts once, name them as their stages and account for the whole wall
clock: work plus Dagster overhead.
"""

from __future__ import annotations

import time

import dagster as dg
import pytest

from bench.stages import profile
from kgv_assets.layout import REPORT_KEY

PARTITIONS = dg.StaticPartitionsDefinition(["2019", "2020", "2021"])


@dg.asset(
    key=["staging", "Antrag"],
    partitions_def=PARTITIONS,
)
def staging_load() -> dg.MaterializeResult:
    time.sleep(0.05)
    return dg.MaterializeResult(
        metadata={"seconds": 3.0, "seconds_extract": 1.0, "seconds_validate": 0.5}
    )


@dg.asset(
    key=["kgv", "applications"],
    partitions_def=PARTITIONS,
    deps=[staging_load],
)
def target_load() -> dg.MaterializeResult:
    time.sleep(0.05)
    return dg.MaterializeResult(
        metadata={"seconds": 2.0, "seconds_transform": 1.5, "seconds_indexes": 0.25}
    )


@dg.asset_check(asset=target_load)
def applications_loaded() -> dg.AssetCheckResult:
    time.sleep(0.05)
    return dg.AssetCheckResult(passed=True)


@dg.asset(key=REPORT_KEY, deps=[target_load])
def report() -> None:
    time.sleep(0.05)


def test_profile_counts_each_load_once_and_names_the_stages() -> None:
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        result = dg.materialize(
            [staging_load, target_load, applications_loaded, report],
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2019",
                "dagster/asset_partition_range_end": "2021",
            },
        )
        wall = time.perf_counter() - started
        assert result.success
        out = profile(instance, result.run_id, wall)

    stages = out["stages"]
    assert isinstance(stages, dict)
    # three partitions' materializations carry the load's timings: counted once
    assert stages["extract"] == 1.0 and stages["legacy validation"] == 0.5
    assert stages["transform"] == 1.5 and stages["index/constraint build"] == 0.25
    assert stages["other work"] == pytest.approx(1.5 + 0.25)  # seconds less its parts
    assert stages["checks"] > 0
    assert out["parts_reported"] == ["extract", "indexes", "transform", "validate"]
    # the metadata claims more than the steps took: no in-step overhead, only outside time
    outside = out["outside_steps_seconds"]
    assert isinstance(outside, float) and 0 <= outside <= wall
    assert stages["Dagster overhead"] == pytest.approx(outside, abs=1e-3)
