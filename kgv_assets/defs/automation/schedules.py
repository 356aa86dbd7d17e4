"""Schedules: the nightly refresh of the two most recent years, and the weekly validation.

Both are off by default (switch them on in the UI, Automation tab); times are Europe/Berlin.
"""

import dagster as dg

from kgv_assets.defs.automation.sync import partition_refresh_job
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.partitions import LEGACY_YEAR
from kgv_assets.sync.changes import Changes
from kgv_assets.sync.runs import RUN_KIND_TAG, run_requests

TIMEZONE = "Europe/Berlin"


@dg.schedule(
    job=partition_refresh_job,
    cron_schedule="30 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Every night at 02:30: reloads the current and the previous year's partitions of every "
        "dated legacy table and their targets, whatever the fingerprints say — the safety net "
        "for the years where the clerks work, in the same runs a sync would start."
    ),
)
def nightly_refresh_schedule(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    """Run requests for the current and previous year (those registered as partitions)."""
    year = context.scheduled_execution_time.year
    known = context.instance.get_dynamic_partitions(LEGACY_YEAR)
    years = [str(y) for y in (year - 1, year) if str(y) in known]
    if not years:
        return dg.SkipReason(f"neither {year - 1} nor {year} is a registered partition")
    changes = Changes({t.name: years for t in TABLES if t.is_partitioned})
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return run_requests(changes, known, context.repository_def, key_prefix=f"nightly-{stamp}")


weekly_validation_schedule = dg.ScheduleDefinition(
    name="weekly_validation_schedule",
    job_name="validate",
    cron_schedule="0 4 * * 0",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    tags={RUN_KIND_TAG: "validate"},
    description=(
        "Every Sunday at 04:00: the validate job over all partitions — every asset check, "
        "including the content comparison of every row with the source, which catches what a "
        "fingerprint collision could hide from the incremental sync."
    ),
)
