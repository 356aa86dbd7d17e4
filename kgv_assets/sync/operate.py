"""What ``kgv migrate full|incremental|validate`` runs: Dagster jobs on the operator's instance.

Each command executes one job of the code location in this process against the instance of
``DAGSTER_HOME`` (runs, events and materializations are recorded there and visible in the UI),
exactly as ``dagster job execute -m kgv_assets.definitions -j <job>`` would.
"""

from __future__ import annotations

import dagster as dg

from kgv_assets.partitions import all_partitions_tags, register_partition_keys
from kgv_assets.resources.legacy_source import LegacySourceResource

FULL_JOB = "full_migration"
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
