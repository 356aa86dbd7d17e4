"""How a check of ``kgv_assets.validation`` becomes a Dagster asset check.

Scope. Dagster 1.13 can partition an asset check only as a preview feature, and only for runs
of a single partition: in a run over a partition range — how this project migrates and
validates, one single-run backfill over all partitions — a partitioned check is recorded
unpartitioned while every partition of the range stays "planned" forever. The checks are
therefore unpartitioned and check the partitions of the run instead: its partition or
partition-range tags, or every partition when the run has none. Each result says which in its
``scope`` metadata and breaks its figures down per partition.

Steps. The checks of one table run in one step (a multi-asset check over one connection):
a hundred one-check steps would cost more in orchestration than the checks take.

Result. The outcome's verdict, severity and one-line summary, its figures as numbers, its
tables as table metadata and its sample keys (keys only, never personal data).
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import psycopg

from kgv_assets.legacy.catalogue import Table
from kgv_assets.metadata import table_value
from kgv_assets.partitions import LEGACY_YEAR
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.validation.outcome import Outcome, scope_label
from kgv_assets.validation.reconciliation import Ledger, reconcile

Evaluate = Callable[[psycopg.Connection, LegacySourceResource, list[str] | None], Outcome]


def run_partitions(context: dg.AssetCheckExecutionContext, partitioned: bool) -> list[str] | None:
    """The partitions the run covers (its tags), in order; None: all partitions."""
    if not partitioned or not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = list(context.instance.get_dynamic_partitions(LEGACY_YEAR))
    selected = context.partition_key_range
    if selected.start not in keys or selected.end not in keys:
        raise dg.DagsterInvariantViolationError(
            f"partition range {selected.start}…{selected.end} is not registered"
            " (run `kgv partitions sync`)"
        )
    return keys[keys.index(selected.start) : keys.index(selected.end) + 1]


def check_result(
    outcome: Outcome, scope: list[str] | None, key: dg.AssetCheckKey
) -> dg.AssetCheckResult:
    """The Dagster result of an outcome: verdict, severity, summary and readable metadata."""
    metadata: dict[str, Any] = {"scope": scope_label(scope), **outcome.figures}
    metadata.update({name: table_value(frame) for name, frame in outcome.tables.items()})
    if outcome.samples:
        metadata["sample_keys"] = dg.MetadataValue.json(outcome.samples)
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        description=outcome.summary,
        metadata=metadata,
    )


@dataclass(frozen=True)
class Check:
    """One check of a table: its name (a predicate), what it checks, how, and if it blocks.

    Attributes:
        name: The check's name.
        description: What it checks, for the UI.
        evaluate: (connection, legacy source, partitions or None) → Outcome.
        blocking: Whether an ERROR failure stops the assets downstream (and fails the run).
    """

    name: str
    description: str
    evaluate: Evaluate
    blocking: bool


def reconciled_check(name: str, ledger: Ledger, source: Table, description: str) -> Check:
    """``<name>_reconciled``: source = loaded + quarantined per partition of one stage, blocking."""

    def evaluate(
        conn: psycopg.Connection, legacy: LegacySourceResource, scope: list[str] | None
    ) -> Outcome:
        # Counted for the run's partitions only: a refresh of one year recounts one year.
        return reconcile(conn, ledger, legacy.partition_counts(source, scope), scope)

    return Check(f"{name}_reconciled", description, evaluate, blocking=True)


def table_checks(
    asset: dg.AssetKey, checks: Sequence[Check], *, partitioned: bool
) -> dg.AssetChecksDefinition:
    """The checks of one table asset, run together in one step (one connection).

    Any subset can run (``can_subset``). A check that raises does not keep the others of the
    table from reporting; the step fails with the first error after all have run.

    Args:
        asset: The checked asset.
        checks: Its checks.
        partitioned: Whether the asset is partitioned (else the whole table is checked).
    """
    by_key = {dg.AssetCheckKey(asset, c.name): c for c in checks}

    @dg.multi_asset_check(
        name=f"{asset.to_python_identifier()}_checks",
        specs=[
            dg.AssetCheckSpec(c.name, asset=asset, description=c.description, blocking=c.blocking)
            for c in checks
        ],
        can_subset=True,
    )
    def _checks(
        context: dg.AssetCheckExecutionContext,
        postgres: PostgresResource,
        legacy_source: LegacySourceResource,
    ) -> Iterator[dg.AssetCheckResult]:
        scope = run_partitions(context, partitioned)
        errors: list[tuple[str, Exception]] = []
        with postgres.reading() as conn:  # the read-only login (KGV_PG_READER_URL)
            for key, check in by_key.items():
                if key not in context.selected_asset_check_keys:
                    continue
                try:
                    outcome = check.evaluate(conn, legacy_source, scope)
                except Exception as error:  # reported below, after the other checks ran
                    errors.append((check.name, error))
                    continue
                yield check_result(outcome, scope, key)
        if errors:
            names = ", ".join(name for name, _ in errors)
            raise RuntimeError(f"{asset.to_user_string()}: checks could not run: {names}") from (
                errors[0][1]
            )

    return _checks
