"""Jobs users run from the UI or with ``dagster job execute``."""

import dagster as dg

from kgv_assets.sync.runs import RUN_KIND_TAG

full_migration = dg.define_asset_job(
    "full_migration",
    selection=dg.AssetSelection.all(),
    description=(
        "The whole migration in one run: legacy → staging → target. Run it over all partitions "
        "with the partition-range tags (`kgv migrate full` sets them)."
    ),
    executor_def=dg.in_process_executor,
    # Queued behind (and ahead of) sync runs: dagster.yaml runs one kgv/run_kind run at a time.
    tags={RUN_KIND_TAG: "migration"},
)
