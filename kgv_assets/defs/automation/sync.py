"""Incremental sync: the sensor that follows the legacy source, and the daemon-free job.

How changes are found and which runs load them: ``kgv_assets/sync`` (fingerprints,
``changes.py``, ``runs.py``). The README section "Incremental sync" explains it for operators.
"""

import dagster as dg

from kgv_assets.partitions import legacy_year, register_partition_keys
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.sync.operate import code_location
from kgv_assets.sync.passes import dependents_stale, evaluate_pass, execute_in_process
from kgv_assets.sync.runs import REFRESH_JOB, RUN_KIND_TAG, TABLES_TAG

partition_refresh_job = dg.define_asset_job(
    REFRESH_JOB,
    # A sync run never takes a snapshot or a backup (issue 14): the backups group is left out.
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("backups"),
    description=(
        "Reloads the partitions a sync found changed (or the nightly schedule names): each run "
        "selects the changed legacy assets and everything downstream, for one partition or one "
        "contiguous partition range. Launched by legacy_changes_sensor, nightly_refresh_schedule "
        "and incremental_migration; not meant to be started by hand."
    ),
    executor_def=dg.in_process_executor,
)


@dg.sensor(
    job=partition_refresh_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Fingerprints every legacy table on the source (row count and content checksum per "
        "partition, one aggregate query per table), registers new years as partitions and "
        "requests runs for the partitions whose fingerprint differs from what was loaded and "
        "from what it requested before (its cursor). Its first tick compares with what the "
        "last loads recorded; with nothing migrated yet it requests nothing (that is "
        "full_migration's job)."
    ),
)
def legacy_changes_sensor(
    context: dg.SensorEvaluationContext,
    legacy_source: LegacySourceResource,
    postgres: PostgresResource,
) -> dg.SensorResult:
    """One tick: compare, register new partitions, request runs, remember what was seen."""
    repository = context.repository_def
    if repository is None:
        raise dg.DagsterInvariantViolationError("legacy_changes_sensor needs its code location")
    found = evaluate_pass(
        legacy_source, postgres, context.instance, repository, cursor=context.cursor
    )
    if found.rebaselined:
        context.log.warning(found.rebaselined)
    context.log.info(
        "fingerprinted the source in %.1f s; %s; new partitions: %s",
        found.fingerprint_seconds,
        found.changes.describe(),
        ", ".join(found.new_partitions) or "none",
    )
    return dg.SensorResult(
        run_requests=found.run_requests,
        cursor=found.cursor,
        dynamic_partitions_requests=[legacy_year.build_add_request(found.new_partitions)]
        if found.new_partitions
        else [],
        skip_reason=None if found.run_requests else f"no changes ({found.changes.describe()})",
    )


@dg.op(
    description=(
        "Compares the source's fingerprints with those recorded by the last loads "
        "(migration.partition_fingerprints), registers new partitions, and executes the runs "
        "that reload only the changed partitions (and partitions whose target load did not "
        "finish), one after the other in this process."
    ),
)
def sync_changed_partitions(
    context: dg.OpExecutionContext,
    legacy_source: LegacySourceResource,
    postgres: PostgresResource,
) -> dg.Output[int]:
    """Detect and load the changes; fail if a reload run fails."""
    # The location's repository: a run launched from it (CLI, UI) could also take it from the
    # context, an execute_in_process run (kgv migrate incremental) has none there.
    repository = code_location()
    found = evaluate_pass(
        legacy_source, postgres, context.instance, repository, retry_unfinished=True
    )
    register_partition_keys(context.instance, set(found.new_partitions))
    seconds, described = found.fingerprint_seconds, found.changes.describe()
    if found.rebaselined:
        context.log.warning(found.rebaselined)
    context.log.info("fingerprinted the source in %.1f s; %s", seconds, described)
    job = repository.get_job(REFRESH_JOB)
    runs = []

    def needed(request: dg.RunRequest) -> bool:
        if dependents_stale(request, postgres):
            return True
        context.log.info("skipped the reload of %s: parents unchanged", request.tags[TABLES_TAG])
        return False

    requests = found.run_requests
    for result in execute_in_process(job, requests, context.instance, context.run_id, needed):
        runs.append(result.run_id)
        context.log.info("reload run %s: %s", result.run_id, "ok" if result.success else "FAILED")
        if not result.success:
            raise dg.Failure(
                description=f"reload run {result.run_id} failed; later reloads were not started",
                metadata={"runs": dg.MetadataValue.json(runs)},
            )
    return dg.Output(
        len(runs),
        metadata={
            "changes": found.changes.describe(),
            "new_partitions": ", ".join(found.new_partitions) or "none",
            "runs": dg.MetadataValue.json(runs),
            "fingerprint_seconds": round(found.fingerprint_seconds, 3),
            "rebaselined": found.rebaselined or "none",
        },
    )


@dg.job(
    name="incremental_migration",
    description=(
        "Incremental sync without the daemon: reloads only the partitions whose source "
        "fingerprint changed since they were loaded. `dagster job execute -m "
        "kgv_assets.definitions -j incremental_migration` (or `kgv migrate incremental`)."
    ),
    executor_def=dg.in_process_executor,
    tags={RUN_KIND_TAG: "sync"},
)
def incremental_migration() -> None:
    """Detect changed partitions and reload them."""
    sync_changed_partitions()
