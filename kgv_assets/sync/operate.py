"""What ``kgv migrate full|incremental|validate`` runs: Dagster jobs on the operator's instance.

Each command executes one job of the code location in this process against the instance of
``DAGSTER_HOME`` (runs, events and materializations are recorded there and visible in the UI),
exactly as ``dagster job execute -m kgv_assets.definitions -j <job>`` would.
"""

from __future__ import annotations

import dagster as dg

from kgv_assets.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    all_partitions_tags,
    register_partition_keys,
)
from kgv_assets.resources.legacy_source import LegacySourceResource

FULL_JOB = "full_migration"
PARENT_TAG = "kgv/parent_run"
"""On a run started by another run (the one without partition tags it stands in for)."""
INCREMENTAL_JOB = "incremental_migration"
VALIDATE_JOB = "validate"


def code_location() -> dg.RepositoryDefinition:
    """The code location, loaded now (commands and in-process runs ask for it when they need it).

    Imported here, not at the top: ``kgv_assets.definitions`` holds the location's lazy
    Definitions, which the autoloader must not find again in a module it loads.
    """
    from kgv_assets.definitions import defs

    return defs().get_repository_def()


def run_job(
    name: str, instance: dg.DagsterInstance, tags: dict[str, str] | None = None
) -> dg.ExecuteInProcessResult:
    """Execute the job ``name`` of the code location in process on ``instance``."""
    job = code_location().get_job(name)
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)


def migrate_full(
    instance: dg.DagsterInstance, source: LegacySourceResource
) -> dg.ExecuteInProcessResult:
    """Register every partition the source has, then ``full_migration`` over all of them."""
    register_partition_keys(instance, source.partition_keys())
    return run_job(FULL_JOB, instance, all_partitions_tags(instance))


def migrate_every_partition(
    context: dg.AssetExecutionContext, source: LegacySourceResource
) -> None:
    """Stand in for a ``full_migration`` run without partition tags: run it over all partitions.

    Dagster cannot run the partitioned steps of a run without partitions (a partitioned asset
    depending on another one needs the run's partition range), yet ``dagster job execute -j
    full_migration``, ``dg launch --job full_migration`` and the UI's launchpad start exactly
    such a run. Its first step therefore registers every partition the source has and
    executes ``full_migration`` over all of them in this process, as ``kgv migrate full``
    does (a run of its own on the instance, tagged with this one); the calling run then
    materializes nothing else. A failed inner run fails this step.
    """
    instance = context.instance
    new = register_partition_keys(instance, source.partition_keys())
    tags = {**all_partitions_tags(instance), PARENT_TAG: context.run.run_id}
    context.log.info(
        "no partition tags: running full_migration over every partition (%s to %s; new: %s)",
        tags[RANGE_START_TAG],
        tags[RANGE_END_TAG],
        ", ".join(new) or "none",
    )
    result = run_job(FULL_JOB, instance, tags)
    if not result.success:
        raise dg.Failure(
            description=f"full_migration over every partition failed: run {result.run_id}",
            allow_retries=False,
        )
    context.log.info("full_migration over every partition succeeded: run %s", result.run_id)
