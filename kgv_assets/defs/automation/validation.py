"""The ``validate`` job: every asset check, no reload.

Runs the checks of ``kgv_assets/defs/checks`` against what is loaded now, for all partitions
(no tags) or the partitions its tags select (``dagster/partition``, or the partition-range
tags as ``kgv partitions range-tags`` prints them)::

    dagster job execute -m kgv_assets.definitions -j validate
    dagster job execute -m kgv_assets.definitions -j validate --tags '{"dagster/partition": "2021"}'

Every check that can fail with ERROR is blocking, so an ERROR failure fails the run and the
command exits non-zero; WARN failures (dirty legacy data the migration kept) do not.
"""

import dagster as dg

from kgv_assets.defs.backups.assets import OPERATIONAL_BACKUP_KEYS

validate = dg.define_asset_job(
    "validate",
    # The data-quality checks; the backups' check runs in the backup jobs (issue 14).
    selection=dg.AssetSelection.all_asset_checks()
    - dg.AssetSelection.checks_for_assets(*OPERATIONAL_BACKUP_KEYS),
    description=(
        "Runs every asset check against the loaded data, without reloading anything: all "
        "partitions, or those selected by the partition (range) tags. Fails on an ERROR check."
    ),
    executor_def=dg.in_process_executor,
)
