"""The sync sensor, the schedules and the sync jobs as the code location defines them.

All automation is off by default (switchable in the UI); the nightly schedule asks for the
current and previous year's partitions of every dated table (plus the all-partition reload of
the tables that reference rows of any year); the weekly one runs the validate job; every run
they start carries the tag that dagster.yaml limits to one run at a time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import yaml

from kgv_assets.definitions import defs
from kgv_assets.defs.automation.schedules import nightly_refresh_schedule
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.partitions import LEGACY_YEAR, RANGE_END_TAG, RANGE_START_TAG
from kgv_assets.sync.runs import REFRESH_JOB, RUN_KIND_TAG

ROOT = Path(__file__).resolve().parents[2]


def test_automation_is_defined_and_off_by_default() -> None:
    repository = defs().get_repository_def()
    sensor = repository.get_sensor_def("legacy_changes_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert sensor.minimum_interval_seconds == 300
    assert sensor.job_name == REFRESH_JOB
    nightly = repository.get_schedule_def("nightly_refresh_schedule")
    weekly = repository.get_schedule_def("weekly_validation_schedule")
    for schedule in (nightly, weekly):
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
        assert schedule.execution_timezone == "Europe/Berlin"
    assert (nightly.job_name, weekly.job_name) == (REFRESH_JOB, "validate")
    assert weekly.tags[RUN_KIND_TAG] == "validate"
    for job in ("incremental_migration", REFRESH_JOB, "full_migration", "validate"):
        assert repository.has_job(job)
    assert repository.get_job("incremental_migration").tags[RUN_KIND_TAG] == "sync"
    assert repository.get_job("full_migration").tags[RUN_KIND_TAG] == "migration"


def test_runs_with_the_run_kind_tag_are_queued_one_at_a_time() -> None:
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    coordinator = config["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    limits = coordinator["config"]["tag_concurrency_limits"]
    assert {"key": RUN_KIND_TAG, "limit": 1} in limits


def test_nightly_refresh_asks_for_the_two_latest_years() -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(LEGACY_YEAR, ["undated", "2024", "2025", "2026"])
        # Entered as a context manager: the evaluation context enters the instance, and
        # leaving it open would keep the instance's state storage current after the test.
        with dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 3, 1, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
            repository_def=defs().get_repository_def(),
        ) as context:
            requests = nightly_refresh_schedule(context)
    assert isinstance(requests, list)
    years, dependents = requests
    assert (years.tags[RANGE_START_TAG], years.tags[RANGE_END_TAG]) == ("2025", "2026")
    legacy = {k.path[1] for k in years.asset_selection or [] if k.path[0] == "legacy"}
    assert legacy == {t.name for t in TABLES if t.is_partitioned}
    assert (dependents.tags[RANGE_START_TAG], dependents.tags[RANGE_END_TAG]) == (
        "undated",
        "2026",
    )
    assert all(r.tags[RUN_KIND_TAG] == "sync" and r.run_key for r in requests)


def test_nightly_refresh_skips_years_not_registered() -> None:
    with dg.instance_for_test() as instance:
        with dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 3, 1, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
            repository_def=defs().get_repository_def(),
        ) as context:
            assert isinstance(nightly_refresh_schedule(context), dg.SkipReason)
