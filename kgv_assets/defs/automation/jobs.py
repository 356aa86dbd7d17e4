"""Jobs users run from the UI or with ``dagster job execute``."""

import dagster as dg

full_migration = dg.define_asset_job(
    "full_migration",
    selection=dg.AssetSelection.all(),
    description=(
        "The whole migration in one run: legacy → staging → target. Run it over all partitions "
        "with the partition-range tags (`kgv migrate full` sets them)."
    ),
    executor_def=dg.in_process_executor,
)
