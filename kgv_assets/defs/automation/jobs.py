"""Jobs users run from the UI or with ``dagster job execute``."""

import dagster as dg

from kgv_assets.defs.backups.assets import OPERATIONAL_BACKUPS
from kgv_assets.sync.runs import RUN_KIND_TAG

full_migration = dg.define_asset_job(
    "full_migration",
    # Every asset but the scheduled backups; the pre-migration snapshot runs first (issue 14).
    selection=dg.AssetSelection.all() - OPERATIONAL_BACKUPS,
    description=(
        "The whole migration in one run: a pre-migration snapshot of the target, then legacy → "
        "staging → target. Run it over all partitions with the partition-range tags "
        "(`kgv migrate full` sets them)."
    ),
    executor_def=dg.in_process_executor,
    # Queued behind (and ahead of) sync runs: dagster.yaml runs one kgv/run_kind run at a time.
    tags={RUN_KIND_TAG: "migration"},
)
