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

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl
import psycopg

from kgv_assets.legacy.catalogue import Table
from kgv_assets.metadata import table_value
from kgv_assets.partitions import LEGACY_YEAR
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.validation.content import PARTITION, ContentSpec, source_hashes
from kgv_assets.validation.outcome import Outcome, scope_label
from kgv_assets.validation.reconciliation import Ledger, reconcile


class StepSource:
    """The legacy source as one check step reads it: a table's rows at most once.

    A table's content check reads its rows with their hashes (``source_hashes``); when the
    step also reconciles that table over every partition, the per-partition counts are taken
    from the same rows instead of a second pass over the source (``COUNT … GROUP BY`` of the
    partition rule: as much work for SQLite as the read). Counts are the source's either way:
    the rows it returned now, partitioned by the same rule, for the partitions in scope. A
    step that reconciles without the content check (a subset) asks the source to count.

    Args:
        source: The legacy source resource.
        scope: The partitions the step checks (None: all).
        content: The content specs of the tables whose rows this step reads.
    """

    def __init__(
        self,
        source: LegacySourceResource,
        scope: list[str] | None,
        content: Sequence[ContentSpec] = (),
    ) -> None:
        self.source = source
        self.scope = scope
        self._content = {spec.source.name: spec for spec in content}
        self._hashes: dict[str, pl.DataFrame] = {}
        self._lock = threading.Lock()

    def hashes(self, spec: ContentSpec) -> pl.DataFrame:
        """``source_hashes`` of the table's rows in scope, read once per step (thread-safe)."""
        name = spec.source.name
        with self._lock:  # two checks of the step may ask at once
            if name not in self._hashes:
                key = spec.source.key_column if spec.target_key else None
                batches = self.source.read_batches(spec.source, self.scope, [key] if key else [])
                self._hashes[name] = source_hashes(spec, batches)
            return self._hashes[name]

    def partition_counts(self, table: Table) -> dict[str, int]:
        """Rows per partition key of ``table`` in scope, as the source has them now."""
        spec = self._content.get(table.name)
        if spec is None:
            return self.source.partition_counts(table, self.scope)
        counts = self.hashes(spec).group_by(PARTITION).len()
        return {str(key): int(n) for key, n in counts.iter_rows()}


Evaluate = Callable[[psycopg.Connection, StepSource, list[str] | None], Outcome]


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
        evaluate: (connection, the step's legacy source, partitions or None) → Outcome.
        blocking: Whether an ERROR failure stops the assets downstream (and fails the run).
        reads: The content spec of the table whose rows the check reads from the source
            (the content check), so the step reads them once (``StepSource``).
    """

    name: str
    description: str
    evaluate: Evaluate
    blocking: bool
    reads: ContentSpec | None = None


def reconciled_check(name: str, ledger: Ledger, source: Table, description: str) -> Check:
    """``<name>_reconciled``: source = loaded + quarantined per partition of one stage, blocking."""

    def evaluate(conn: psycopg.Connection, legacy: StepSource, scope: list[str] | None) -> Outcome:
        # For the run's partitions only: a refresh of one year recounts one year.
        return reconcile(conn, ledger, legacy.partition_counts(source), scope)

    return Check(f"{name}_reconciled", description, evaluate, blocking=True)


CHECK_THREADS = 2
"""Checks of one step evaluated at once: while one waits for PostgreSQL (most are one query
over the table), another computes in Python (format rules, the content check's source read)."""


def evaluate_side_by_side(
    postgres: PostgresResource, legacy: StepSource, checks: Sequence[Check]
) -> Iterator[Outcome | BaseException]:
    """Each check's outcome (or the error it raised), in the order of ``checks``.

    ``CHECK_THREADS`` threads evaluate them, each check on a connection of its own as the
    read-only login; every query is the same as one after the other, only the waits overlap.
    """

    def evaluate(check: Check) -> Outcome:
        with postgres.reading() as conn:  # the read-only login (KGV_PG_READER_URL)
            return check.evaluate(conn, legacy, legacy.scope)

    # The first connection in this thread: the pool is opened once, not by racing workers.
    with postgres.reading(), ThreadPoolExecutor(CHECK_THREADS, "kgv-check") as pool:
        futures = [pool.submit(evaluate, check) for check in checks]
        for future in futures:
            error = future.exception()
            yield future.result() if error is None else error


def table_checks(
    asset: dg.AssetKey, checks: Sequence[Check], *, partitioned: bool
) -> dg.AssetChecksDefinition:
    """The checks of one table asset, run together in one step.

    Any subset can run (``can_subset``). A check that raises does not keep the others of the
    table from reporting; the step fails with the first error after all have run. The checks
    are evaluated ``CHECK_THREADS`` at a time (``evaluate_side_by_side``).

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
        selected = [(k, c) for k, c in by_key.items() if k in context.selected_asset_check_keys]
        legacy = StepSource(legacy_source, scope, [c.reads for _, c in selected if c.reads])
        errors: list[tuple[str, BaseException]] = []
        for (key, check), outcome in zip(
            selected, evaluate_side_by_side(postgres, legacy, [c for _, c in selected]), strict=True
        ):
            if isinstance(outcome, Outcome):
                yield check_result(outcome, scope, key)
            else:  # reported below, after the other checks ran
                errors.append((check.name, outcome))
        if errors:
            names = ", ".join(name for name, _ in errors)
            raise RuntimeError(f"{asset.to_user_string()}: checks could not run: {names}") from (
                errors[0][1]
            )

    return _checks
