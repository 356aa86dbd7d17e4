"""The PostgreSQL target: its schema, one asset per ``kgv`` table, and the reporting views.

Each target table is built from its staged legacy table by the table's module in
``kgv_assets/transform/tables`` (where its rules live); loading, quarantine and accounting are
shared (``kgv_assets/load/target_table.py``).
"""

import time

import dagster as dg

from kgv_assets.legacy.catalogue import table
from kgv_assets.load.event_types import add_found_codes
from kgv_assets.load.target_table import TargetLoadResult, load_target_table
from kgv_assets.partitions import legacy_year
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.schema_migrations import apply_sql_files, sql_files
from kgv_assets.transform.tables.mapping import RuleLoader
from kgv_assets.transform.tables.registry import LOADERS
from kgv_assets.validation.columns import live_column_schema
from kgv_assets.validation.freshness import TABLE_FRESHNESS

SCHEMA_KEY = dg.AssetKey(["migration", "schema_migrations"])

PARTITIONED = {c.mapping.target for c in LOADERS if table(c.mapping.source).is_partitioned}


@dg.asset(
    key=SCHEMA_KEY,
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
    key=["kgv", "event_types"],
    group_name="target",
    kinds={"postgres"},
    deps=[SCHEMA_KEY, dg.AssetKey(["legacy", "Verlauf"])],
    freshness_policy=TABLE_FRESHNESS,
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


def _metadata(result: TargetLoadResult) -> dict[str, object]:
    reasons = "\n".join(f"| {r} | {n} |" for r, n in result.reasons.items()) or "| — | 0 |"
    return {
        "dagster/row_count": result.loaded_rows,
        "rows_source": result.source_rows,
        "rows_loaded": result.loaded_rows,
        "rows_quarantined": result.quarantined_rows,
        "rows_inserted": result.inserted,
        "rows_updated": result.updated,
        "rows_deleted": result.deleted,
        "partitions": len(result.counts),
        "seconds": round(result.seconds, 3),
        "rows_per_second": round(result.source_rows / result.seconds) if result.seconds else 0,
        "per_partition": dg.MetadataValue.md(
            "| partition | source | loaded | quarantined |\n|---|---|---|---|\n"
            + "\n".join(
                f"| {c.partition} | {c.source_rows} | {c.loaded_rows} | {c.quarantined_rows} |"
                for c in result.counts.values()
            )
        ),
        "quarantine_reasons": dg.MetadataValue.md(f"| reason | rows |\n|---|---|\n{reasons}"),
    }


def target_asset(loader_cls: type[RuleLoader]) -> dg.AssetsDefinition:
    """The asset that builds ``kgv.<target>`` from its staged legacy table."""
    mapping = loader_cls.mapping
    source = table(mapping.source)
    partitioned = source.is_partitioned
    deps = [
        dg.AssetDep(SCHEMA_KEY),
        dg.AssetDep(dg.AssetKey(["legacy", source.name])),
        *(
            dg.AssetDep(
                dg.AssetKey(["kgv", parent]),
                partition_mapping=dg.AllPartitionMapping()
                if partitioned and parent in PARTITIONED
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
        key=["kgv", mapping.target],
        group_name="target",
        kinds={"postgres", "pandas"},
        deps=deps,
        partitions_def=legacy_year if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        freshness_policy=TABLE_FRESHNESS if partitioned else None,
        description=(
            f"kgv.{mapping.target}, built from legacy {source.name}. "
            + " ".join(mapping.notes)
            + f" Rules: kgv_assets/transform/tables/{mapping.target}.py."
        ),
        metadata={
            "dagster/table_name": f"kgv.{mapping.target}",
            "dagster/column_schema": columns,
            "partition_expr": "legacy_partition" if partitioned else None,
        },
    )
    def _target(
        context: dg.AssetExecutionContext, postgres: PostgresResource
    ) -> dg.MaterializeResult:
        keys = context.partition_keys if partitioned else None
        loader = loader_cls()
        # A second connection reads the staged rows while the first COPies the target rows.
        with postgres.connection() as conn, postgres.connection() as reader:
            result = load_target_table(conn, loader, keys, context.run.run_id, reader)
            live = live_column_schema(conn, "kgv", mapping.target, columns)
        context.log.info(
            "kgv.%s: %d source, %d loaded, %d quarantined in %.1f s",
            mapping.target,
            result.source_rows,
            result.loaded_rows,
            result.quarantined_rows,
            result.seconds,
        )
        return dg.MaterializeResult(metadata={**_metadata(result), "dagster/column_schema": live})

    return _target


@dg.asset(
    key=["kgv", "reporting_views"],
    group_name="target",
    kinds={"postgres"},
    deps=[dg.AssetKey(["kgv", "applications"]), dg.AssetKey(["kgv", "application_history"])],
    freshness_policy=TABLE_FRESHNESS,
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


defs = dg.Definitions(
    assets=[schema_migrations, event_types, reporting_views, *map(target_asset, LOADERS)]
)
