"""One asset per legacy table (key ``legacy/<Table>``), landed in PostgreSQL schema ``staging``.

The dated tables are partitioned by year (see ``kgv_assets.partitions``) and run all requested
partitions in a single run (a single-run backfill); the reference tables are unpartitioned.
"""

import time

import dagster as dg

from kgv_assets.layout import PARTITION_COLUMN, SCHEMA_MIGRATIONS_KEY, STAGING, legacy_key
from kgv_assets.legacy.catalogue import TABLES, Table
from kgv_assets.load.staging import stage_table
from kgv_assets.metadata import materialized
from kgv_assets.observability.metrics import push_load_metrics
from kgv_assets.observability.retries import LOAD_RETRY, transient_errors_only
from kgv_assets.partitions import legacy_year
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.sync.changes import decode_run_fingerprints
from kgv_assets.sync.runs import FINGERPRINTS_TAG
from kgv_assets.validation.columns import live_column_schema


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


def legacy_asset(table: Table) -> dg.AssetsDefinition:
    """The asset that lands the legacy table ``table`` in ``staging``."""

    @dg.asset(
        key=legacy_key(table.name),
        group_name="legacy",
        kinds={"sqlserver", "postgres", "pandas"},
        partitions_def=legacy_year if table.is_partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if table.is_partitioned else None,
        deps=[SCHEMA_MIGRATIONS_KEY],
        retry_policy=LOAD_RETRY,  # transient database errors only
        description=(
            f"{table.description}\n\nLegacy `dbo.{table.name}`, landed losslessly in "
            f"`{STAGING}.{table.name}`; rows breaking the legacy schema go to "
            "`migration.rejected_rows` with their reasons."
        ),
        metadata={
            "dagster/table_name": f"{STAGING}.{table.name}",
            "dagster/column_schema": _column_schema(table),
            "partition_expr": PARTITION_COLUMN if table.is_partitioned else None,
        },
    )
    @transient_errors_only  # any other error fails at once
    def _legacy(
        context: dg.AssetExecutionContext,
        legacy_source: LegacySourceResource,
        postgres: PostgresResource,
    ) -> dg.MaterializeResult:
        keys = context.partition_keys if table.is_partitioned else None
        # A sync run carries the fingerprints its pass just took: no second scan of the source.
        known = decode_run_fingerprints(
            context.run.tags.get(FINGERPRINTS_TAG),
            table.name,
            keys,
            legacy_source.strategy.name,
            time.time(),
        )
        if known is not None:
            context.log.info("fingerprints of %s: the sync pass's (run tag)", table.name)
        with postgres.connection() as conn:
            result = stage_table(legacy_source, conn, table, keys, context.run.run_id, known)
            columns = live_column_schema(conn, STAGING, table.name, _column_schema(table))
            push_load_metrics(conn, table.name, "staging", context.run.run_id)
        return materialized(context, result, columns)

    return _legacy


legacy_assets = [legacy_asset(t) for t in TABLES]
