"""Column-schema change checks on the staging and target tables (WARN).

Every materialization of a ``legacy/*`` or loaded ``kgv/*`` asset reports the columns its table
really has in PostgreSQL (``dagster/column_schema``, see ``kgv_assets.validation.columns``).
``column_schema_change`` compares the latest run that materialized the asset with the run
before it. Dagster's own ``build_column_schema_change_checks`` (beta) compares the two latest
materializations, which fits only the unpartitioned assets: a single-run backfill records one
materialization per partition, so its two latest are two partitions of the same run. One
check, of the same name Dagster's builder gives, serves both kinds.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from kgv_assets.layout import LOADED_TABLES, legacy_key
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.validation.columns import schema_changes

SCHEMA_KEY = "dagster/column_schema"
CHECK_NAME = "column_schema_change"  # the name Dagster's builder gives its checks


def _latest(
    instance: dg.DagsterInstance, key: dg.AssetKey, before: float | None
) -> tuple[str, dg.TableSchema | None, float] | None:
    """The latest materialization before ``before``: its run, column schema, the run's start."""
    page = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, before_timestamp=before), limit=1
    )
    if not page.records:
        return None
    record = page.records[0]
    materialization = record.asset_materialization
    value = materialization.metadata.get(SCHEMA_KEY) if materialization else None
    schema = value.value if isinstance(value, dg.TableSchemaMetadataValue) else None
    run = instance.get_run_record_by_id(record.run_id)
    started = run.start_time if run and run.start_time else record.timestamp
    return record.run_id, schema, min(started, record.timestamp)


def _last_two_runs(
    instance: dg.DagsterInstance, key: dg.AssetKey
) -> list[tuple[str, dg.TableSchema | None]]:
    """(run id, column schema) of the latest materialization of the last two runs.

    The latest materialization, then the latest one stored before its run started: one record
    each, where paging back over the latest run's records read one per partition (every
    partition of a single-run backfill, with its metadata). Runs of the project do not overlap
    (dagster.yaml queues one ``kgv/run_kind`` run at a time), so what was stored before a run
    started is the previous run's.
    """
    found: list[tuple[str, dg.TableSchema | None]] = []
    before: float | None = None
    while len(found) < 2 and (latest := _latest(instance, key, before)) is not None:
        run_id, schema, before = latest
        if not found or found[-1][0] != run_id:  # the same run again: its start is unknown
            found.append((run_id, schema))
    return found


def _compared(instance: dg.DagsterInstance, key: dg.AssetKey) -> dg.AssetCheckResult:
    runs = _last_two_runs(instance, key)
    metadata: dict[str, Any] = {"runs_compared": len(runs)}
    if len(runs) < 2:
        passed, description = True, "Materialized by fewer than two runs: nothing to compare yet."
    elif runs[0][1] is None or runs[1][1] is None:
        passed, description = False, "A materialization has no column schema metadata."
    else:
        (latest_run, latest), (previous_run, previous) = runs
        assert latest is not None and previous is not None
        changes = schema_changes(previous, latest)
        passed = not changes
        description = "; ".join(changes) or "No change of the column schema."
        metadata.update(
            columns=len(latest.columns),
            changes=len(changes),
            latest_run=latest_run,
            previous_run=previous_run,
        )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=CHECK_NAME,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata=metadata,
    )


def schema_change_checks(keys: list[dg.AssetKey]) -> dg.AssetChecksDefinition:
    """``column_schema_change`` of each of ``keys``: its latest run against the run before."""

    @dg.multi_asset_check(
        name="column_schema_change",
        specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=key,
                description="The table's columns (names, types) are the same as after the run "
                "before the latest one (WARN: a schema change should be deliberate).",
            )
            for key in keys
        ],
        can_subset=True,
    )
    def _checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            yield _compared(context.instance, check_key.asset_key)

    return _checks


column_schema_change = schema_change_checks(
    [*(legacy_key(t.name) for t in TABLES), *(t.asset_key for t in LOADED_TABLES)]
)
