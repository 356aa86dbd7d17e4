"""How a check of ``kgv_assets.validation`` becomes a Dagster asset check.

Scope. Dagster 1.13 can partition an asset check only as a preview feature, and only for runs
of a single partition: in a run over a partition range — how this project migrates and
validates, one single-run backfill over all partitions — a partitioned check is recorded
unpartitioned while every partition of the range stays "planned" forever. The checks are
therefore unpartitioned and check the partitions of the run instead: its partition or
partition-range tags, or every partition when the run has none. Each result says which in its
``scope`` metadata and breaks its figures down per partition.

Result. The outcome's verdict, severity and one-line summary, its figures as numbers, its
tables as table metadata and its sample keys (keys only, never personal data).
"""

from collections.abc import Callable

import dagster as dg
import pandas as pd
import psycopg

from kgv_assets.partitions import legacy_year
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.validation.outcome import Outcome, scope_label

Evaluate = Callable[[psycopg.Connection, LegacySourceResource, list[str] | None], Outcome]


def run_partitions(context: dg.AssetCheckExecutionContext, partitioned: bool) -> list[str] | None:
    """The partitions the run covers (its tags), in order; None: all partitions."""
    if not partitioned or not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = list(context.instance.get_dynamic_partitions(legacy_year.name))
    selected = context.partition_key_range
    if selected.start not in keys or selected.end not in keys:
        raise dg.DagsterInvariantViolationError(
            f"partition range {selected.start}…{selected.end} is not registered"
            " (run `kgv partitions sync`)"
        )
    return keys[keys.index(selected.start) : keys.index(selected.end) + 1]


def _table(frame: pd.DataFrame) -> dg.TableMetadataValue:
    def kind(dtype: object) -> str:
        if pd.api.types.is_integer_dtype(dtype):
            return "int"
        if pd.api.types.is_float_dtype(dtype):
            return "float"
        return "string"

    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return dg.TableMetadataValue(
        records=[
            dg.TableRecord({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()})
            for r in records
        ],
        schema=dg.TableSchema(
            columns=[dg.TableColumn(str(c), kind(frame[c].dtype)) for c in frame.columns]
        ),
    )


def check_result(outcome: Outcome, scope: list[str] | None) -> dg.AssetCheckResult:
    """The Dagster result of an outcome: verdict, severity, summary and readable metadata."""
    metadata: dict[str, object] = {"scope": scope_label(scope), **outcome.figures}
    metadata.update({name: _table(frame) for name, frame in outcome.tables.items()})
    if outcome.samples:
        metadata["sample_keys"] = dg.MetadataValue.json(outcome.samples)
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        description=outcome.summary,
        metadata=metadata,
    )


def table_check(
    asset: dg.AssetKey,
    name: str,
    description: str,
    evaluate: Evaluate,
    *,
    partitioned: bool,
    blocking: bool,
) -> dg.AssetChecksDefinition:
    """An asset check that runs ``evaluate`` on the target database for the run's partitions.

    Args:
        asset: The checked asset.
        name: The check's name, a predicate.
        description: What it checks, for the UI.
        evaluate: (connection, legacy source, partitions or None) → Outcome.
        partitioned: Whether the asset is partitioned (else the whole table is checked).
        blocking: Whether an ERROR failure stops the assets downstream (and fails the run).
    """

    @dg.asset_check(asset=asset, name=name, description=description, blocking=blocking)
    def _check(
        context: dg.AssetCheckExecutionContext,
        postgres: PostgresResource,
        legacy_source: LegacySourceResource,
    ) -> dg.AssetCheckResult:
        scope = run_partitions(context, partitioned)
        with postgres.connection() as conn:
            outcome = evaluate(conn, legacy_source, scope)
        return check_result(outcome, scope)

    return _check
