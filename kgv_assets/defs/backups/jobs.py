"""The backup jobs and their schedules (off by default, like the others; Europe/Berlin).

The nightly dump runs at 01:30, before the nightly refresh (02:30), and restore-tests what it
wrote, so a verified dump is never more than a day old; the weekly verify (Sunday 05:30, after
the weekly validation) repeats the restore test of the newest dump and verifies the pgBackRest
repository. Both carry ``kgv/run_kind: backup``: one backup run at a time.
"""

import dagster as dg

from kgv_assets.defs.backups.assets import (
    DUMP_KEY,
    DUMP_VERIFICATION_KEY,
    REPOSITORY_VERIFICATION_KEY,
)
from kgv_assets.sync.runs import RUN_KIND_TAG

TIMEZONE = "Europe/Berlin"

backup_dump_job = dg.define_asset_job(
    "backup_dump_job",
    selection=dg.AssetSelection.assets(DUMP_KEY, DUMP_VERIFICATION_KEY),
    description=(
        "A logical dump of kgv, migration and audit, pruned by the retention policy, then its "
        "restore test in a fresh private cluster and the check newest_backup_verified."
    ),
    executor_def=dg.in_process_executor,
    tags={RUN_KIND_TAG: "backup"},
)

backup_verify_job = dg.define_asset_job(
    "backup_verify_job",
    selection=dg.AssetSelection.assets(DUMP_VERIFICATION_KEY, REPOSITORY_VERIFICATION_KEY),
    description=(
        "The restore test of the newest dump and `pgbackrest verify` of the physical "
        "repository (when pgBackRest is set up)."
    ),
    executor_def=dg.in_process_executor,
    tags={RUN_KIND_TAG: "backup"},
)

nightly_backup_schedule = dg.ScheduleDefinition(
    name="nightly_backup_schedule",
    job=backup_dump_job,
    cron_schedule="30 1 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every night at 01:30: the logical dump, pruned, and its restore test.",
)

weekly_backup_verify_schedule = dg.ScheduleDefinition(
    name="weekly_backup_verify_schedule",
    job=backup_verify_job,
    cron_schedule="30 5 * * 0",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Every Sunday at 05:30: the restore test of the newest dump and the verification of "
        "the pgBackRest repository."
    ),
)
