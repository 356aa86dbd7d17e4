"""The PostgreSQL target: its schema, one asset per ``kgv`` table, and the reporting views.

Each target table is built from its staged legacy table by the table's module in
``kgv_assets/transform/tables`` (where its rules live); loading, quarantine and accounting are
shared (``kgv_assets/load/target_table.py``).
"""

import time

import dagster as dg

from kgv_assets.layout import (
    EVENT_TYPES_KEY,
    REPORTING_VIEWS_KEY,
    SCHEMA_MIGRATIONS_KEY,
    TARGET,
    TARGET_PARTITION,
    legacy_key,
    target_key,
    target_table,
)
from kgv_assets.load.event_types import add_found_codes
from kgv_assets.load.target_table import load_target_table
from kgv_assets.metadata import materialized
from kgv_assets.observability.metrics import push_load_metrics
from kgv_assets.observability.retries import LOAD_RETRY, transient_errors_only
from kgv_assets.partitions import legacy_year
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.schema_migrations import apply_sql_files, sql_files
from kgv_assets.transform.tables.mapping import RuleLoader
from kgv_assets.transform.tables.registry import LOADERS
from kgv_assets.validation.columns import live_column_schema


@dg.asset(
    key=SCHEMA_MIGRATIONS_KEY,
    group_name="target",
    kinds={"postgres"},
    deps=[dg.AssetKey(["backups", "pre_migration_snapshot"])],  # issue 14: snapshot first
    description=(
        "The target schema: the numbered SQL files under sql/target, applied once each in "
        "order (schemas staging, migration, kgv, audit; roles; views). An applied file that "
        "changed is an error: schema changes go in as new numbered files."
    ),
)
def schema_migrations(postgres: PostgresResource) -> dg.MaterializeResult:
    """Apply the SQL files not applied yet."""
    with postgres.connection() as conn:
        applied = apply_sql_files(conn)
    return dg.MaterializeResult(
        metadata={
            "files_applied_now": len(applied),
            "files_total": len(sql_files()),
            "applied": ", ".join(applied) or "none (up to date)",
        }
    )


@dg.asset(
    key=EVENT_TYPES_KEY,
    group_name="target",
    kinds={"postgres"},
    deps=[SCHEMA_MIGRATIONS_KEY, legacy_key("Verlauf")],
    description=(
        "Lookup of history event codes (verl_Art). Seeded with the known codes; every code "
        "found in the data that is not there yet is added (unlabelled), never rejected."
    ),
)
def event_types(postgres: PostgresResource) -> dg.MaterializeResult:
    """Add the codes found in staging."""
    with postgres.connection() as conn:
        found, added = add_found_codes(conn)
    return dg.MaterializeResult(metadata={"codes_in_data": found, "codes_added": added})


def target_asset(loader_cls: type[RuleLoader]) -> dg.AssetsDefinition:
    """The asset that builds ``kgv.<target>`` from its staged legacy table."""
    mapping = loader_cls.mapping
    table = mapping.table
    deps = [
        dg.AssetDep(SCHEMA_MIGRATIONS_KEY),
        dg.AssetDep(legacy_key(mapping.source)),
        *(
            dg.AssetDep(
                target_key(parent),
                partition_mapping=dg.AllPartitionMapping()
                if table.partitioned and target_table(parent).partitioned
                else None,
            )
            for parent in loader_cls.parents
        ),
    ]
    columns = dg.TableSchema(
        columns=[
            dg.TableColumn(r.target, description=f"← {r.source or '—'}: {r.description}")
            for r in mapping.rules
        ]
    )

    @dg.asset(
        key=table.asset_key,
        group_name="target",
        kinds={"postgres", "pandas"},
        deps=deps,
        partitions_def=legacy_year if table.partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if table.partitioned else None,
        retry_policy=LOAD_RETRY,  # transient database errors only
        description=(
            f"{table.qualified}, built from legacy {mapping.source}. "
            + " ".join(mapping.notes)
            + f" Rules: kgv_assets/transform/tables/{mapping.target}.py."
        ),
        metadata={
            "dagster/table_name": table.qualified,
            "dagster/column_schema": columns,
            "partition_expr": TARGET_PARTITION if table.partitioned else None,
        },
    )
    @transient_errors_only  # any other error fails at once
    def _target(
        context: dg.AssetExecutionContext, postgres: PostgresResource
    ) -> dg.MaterializeResult:
        keys = context.partition_keys if table.partitioned else None
        loader = loader_cls()
        # A second connection reads the staged rows while the first COPies the target rows.
        with postgres.connection() as conn, postgres.connection() as reader:
            result = load_target_table(conn, loader, keys, context.run.run_id, reader)
            live = live_column_schema(conn, TARGET, mapping.target, columns)
            push_load_metrics(conn, mapping.source, "target", context.run.run_id)
        return materialized(context, result, live)

    return _target


target_assets = [target_asset(loader) for loader in LOADERS]


@dg.asset(
    key=REPORTING_VIEWS_KEY,
    group_name="target",
    kinds={"postgres"},
    deps=[target_key("applications"), target_key("application_history")],
    description=(
        "The materialized reporting views (waiting-list statistics per district and year, "
        "applications per year and status), refreshed after each load."
    ),
)
def reporting_views(postgres: PostgresResource) -> dg.MaterializeResult:
    """Refresh the materialized views."""
    started = time.perf_counter()
    with postgres.connection() as conn:
        conn.execute("SELECT kgv.refresh_reporting_views()")
    return dg.MaterializeResult(metadata={"seconds": round(time.perf_counter() - started, 3)})
