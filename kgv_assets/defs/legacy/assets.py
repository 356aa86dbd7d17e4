"""One asset per legacy table (key ``legacy/<Table>``), landed in PostgreSQL schema ``staging``.

The dated tables are partitioned by year (see ``kgv_assets.partitions``) and run all requested
partitions in a single run (a single-run backfill); the reference tables are unpartitioned.
"""

import dagster as dg

from kgv_assets.legacy.catalogue import TABLES, Table
from kgv_assets.load.staging import SCHEMA, StageResult, stage_table
from kgv_assets.observability.metrics import push_load_metrics  # issue 15: pipeline metrics
from kgv_assets.observability.retries import LOAD_RETRY, transient_errors_only  # issue 15
from kgv_assets.partitions import legacy_year
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.validation.columns import live_column_schema
from kgv_assets.validation.freshness import TABLE_FRESHNESS


def _column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.tsql_type,
                description=f"staging type {c.pg_staging_type}",
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in table.columns
        ]
    )


def _metadata(result: StageResult) -> dict[str, object]:
    per_partition = dg.TableMetadataValue(
        records=[
            dg.TableRecord(
                {
                    "partition": c.partition,
                    "source": c.source_rows,
                    "staged": c.loaded_rows,
                    "quarantined": c.quarantined_rows,
                }
            )
            for c in result.counts.values()
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("partition", "string"),
                dg.TableColumn("source", "int"),
                dg.TableColumn("staged", "int"),
                dg.TableColumn("quarantined", "int"),
            ]
        ),
    )
    reasons = "\n".join(f"| {r} | {n} |" for r, n in result.reasons.items()) or "| — | 0 |"
    return {
        "dagster/row_count": result.staged_rows,
        "rows_read": result.source_rows,
        "rows_staged": result.staged_rows,
        "rows_quarantined": result.quarantined_rows,
        "partitions": len(result.counts),
        "seconds": round(result.seconds, 3),
        "rows_per_second": round(result.source_rows / result.seconds) if result.seconds else 0,
        "per_partition": per_partition,
        "quarantine_reasons": dg.MetadataValue.md(f"| reason | rows |\n|---|---|\n{reasons}"),
    }


def legacy_asset(table: Table) -> dg.AssetsDefinition:
    """The asset that lands the legacy table ``table`` in ``staging``."""

    @dg.asset(
        key=["legacy", table.name],
        group_name="legacy",
        kinds={"sqlserver", "postgres", "pandas"},
        partitions_def=legacy_year if table.is_partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if table.is_partitioned else None,
        deps=[dg.AssetKey(["migration", "schema_migrations"])],
        freshness_policy=TABLE_FRESHNESS if table.is_partitioned else None,
        retry_policy=LOAD_RETRY,  # issue 15: transient database errors only (see below)
        description=(
            f"{table.description}\n\nLegacy `dbo.{table.name}`, landed losslessly in "
            f"`{SCHEMA}.{table.name}`; rows breaking the legacy schema go to "
            "`migration.rejected_rows` with their reasons."
        ),
        metadata={
            "dagster/table_name": f"{SCHEMA}.{table.name}",
            "dagster/column_schema": _column_schema(table),
            "partition_expr": table.partition_column,
        },
    )
    @transient_errors_only  # issue 15: any other error fails at once, never retried
    def _legacy(
        context: dg.AssetExecutionContext,
        legacy_source: LegacySourceResource,
        postgres: PostgresResource,
    ) -> dg.MaterializeResult:
        keys = context.partition_keys if table.is_partitioned else None
        with postgres.connection() as conn:
            result = stage_table(legacy_source, conn, table, keys, context.run.run_id)
            columns = live_column_schema(conn, SCHEMA, table.name, _column_schema(table))
            push_load_metrics(conn, table.name, "staging", context.run.run_id)  # issue 15
        context.log.info(
            "%s: %d read, %d staged, %d quarantined in %.1f s",
            table.name,
            result.source_rows,
            result.staged_rows,
            result.quarantined_rows,
            result.seconds,
        )
        return dg.MaterializeResult(
            metadata={**_metadata(result), "dagster/column_schema": columns}
        )

    return _legacy


defs = dg.Definitions(assets=[legacy_asset(t) for t in TABLES])
