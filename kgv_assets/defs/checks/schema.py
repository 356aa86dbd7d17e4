"""Column-schema change checks on the staging and target tables (WARN).

Every materialization of a ``legacy/*`` or loaded ``kgv/*`` asset reports the columns its table
really has in PostgreSQL (``dagster/column_schema``, see ``kgv_assets.validation.columns``).
For the unpartitioned assets Dagster's own ``build_column_schema_change_checks`` compares the
two latest materializations. For the partitioned ones that builder does not fit: a single-run
backfill records one materialization per partition, so its two latest are two partitions of
the same run. ``column_schema_change`` there compares the latest run with the run before it.
"""

import dagster as dg

from kgv_assets.legacy.catalogue import TABLES, table
from kgv_assets.transform.tables.registry import LOADERS
from kgv_assets.validation.columns import schema_changes

SCHEMA_KEY = "dagster/column_schema"
PAGE = 200

_TABLE_ASSETS = [
    *((dg.AssetKey(["legacy", t.name]), t.is_partitioned) for t in TABLES),
    *(
        (dg.AssetKey(["kgv", c.mapping.target]), table(c.mapping.source).is_partitioned)
        for c in LOADERS
    ),
]


def _last_two_runs(
    instance: dg.DagsterInstance, key: dg.AssetKey
) -> list[tuple[str, dg.TableSchema | None]]:
    """(run id, column schema) of the latest materialization of the last two runs."""
    found: list[tuple[str, dg.TableSchema | None]] = []
    cursor = None
    while len(found) < 2:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key), limit=PAGE, cursor=cursor
        )
        for record in page.records:
            run_id = record.run_id
            if found and found[-1][0] == run_id:
                continue
            materialization = record.asset_materialization
            value = materialization.metadata.get(SCHEMA_KEY) if materialization else None
            schema = value.value if isinstance(value, dg.TableSchemaMetadataValue) else None
            found.append((run_id, schema))
            if len(found) == 2:
                break
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def partitioned_schema_check(key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """``column_schema_change`` of a partitioned asset: latest run against the run before."""

    @dg.asset_check(
        asset=key,
        name="column_schema_change",
        description="The table's columns (names, types) are the same as after the run before "
        "the latest one (WARN: a schema change should be deliberate).",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        runs = _last_two_runs(context.instance, key)
        if len(runs) < 2:
            return dg.AssetCheckResult(
                passed=True,
                severity=dg.AssetCheckSeverity.WARN,
                description="Materialized by fewer than two runs: nothing to compare yet.",
                metadata={"runs_compared": len(runs)},
            )
        (_, latest), (_, previous) = runs
        if latest is None or previous is None:
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description="A materialization has no column schema metadata.",
                metadata={"runs_compared": 2},
            )
        changes = schema_changes(previous, latest)
        return dg.AssetCheckResult(
            passed=not changes,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(changes) or "No change of the column schema.",
            metadata={
                "runs_compared": 2,
                "columns": len(latest.columns),
                "changes": len(changes),
                "latest_run": runs[0][0],
                "previous_run": runs[1][0],
            },
        )

    return _check


unpartitioned_schema_checks = dg.build_column_schema_change_checks(
    assets=[key for key, partitioned in _TABLE_ASSETS if not partitioned]
)

defs = dg.Definitions(
    asset_checks=[
        *unpartitioned_schema_checks,
        *(partitioned_schema_check(key) for key, partitioned in _TABLE_ASSETS if partitioned),
    ]
)
