"""One synchronisation pass: fingerprint the source, compare, plan the runs — and run them.

Two entry points share it. The sensor (``legacy_changes_sensor``) evaluates a pass on every
tick and hands the run requests to the daemon; its cursor holds the fingerprints it last saw, so
a change is requested once. The ``incremental_migration`` job (and ``kgv migrate
incremental``) evaluates a pass without a cursor — against what was loaded, plus partitions
whose target load did not finish — and executes the runs in process, one after the other: the
daemon-free path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dagster as dg

from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.partitions import LEGACY_YEAR, sort_partition_keys
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.sync import dependencies
from kgv_assets.sync.changes import (
    Changes,
    Fingerprints,
    decode_cursor,
    detect_changes,
    encode_cursor,
    partition_keys_in,
)
from kgv_assets.sync.runs import STEP_TAG, TABLES_TAG, run_requests
from kgv_assets.sync.store import loaded_baseline, rebaseline, unfinished_partitions

PARENT_RUN_TAG = "kgv/sync_parent_run"


FINGERPRINT_THREADS = 2
"""Tables fingerprinted at once. From SQLite the Arrow reader and polars' row hash release the
GIL, so two tables take both cores (the whole source at 1M rows: 2.5 → 1.6 s, side by side); a
server computes two aggregate queries at once on two connections."""


def source_fingerprints(source: LegacySourceResource) -> Fingerprints:
    """The source's fingerprints of every legacy table: one aggregate query per table."""
    with ThreadPoolExecutor(FINGERPRINT_THREADS, "kgv-fingerprint") as pool:
        return dict(
            zip([t.name for t in TABLES], pool.map(source.fingerprints, TABLES), strict=True)
        )


@dataclass(frozen=True)
class SyncPass:
    """What one pass found and what it asks for."""

    changes: Changes
    new_partitions: list[str]
    run_requests: list[dg.RunRequest]
    cursor: str
    fingerprint_seconds: float
    rebaselined: str | None = None
    """A line for the log when this pass re-baselined partitions (a strategy switch), else None."""


def evaluate_pass(
    source: LegacySourceResource,
    postgres: PostgresResource,
    instance: dg.DagsterInstance,
    repository: dg.RepositoryDefinition,
    *,
    cursor: str | None = None,
    retry_unfinished: bool = False,
) -> SyncPass:
    """Fingerprint the source, compare with the baseline, and plan the runs.

    Args:
        source: The legacy source.
        postgres: The target PostgreSQL (only read here).
        instance: The Dagster instance (its registered partitions, in their order).
        repository: The code location (to resolve asset selections).
        cursor: The sensor's cursor (fingerprints already acted on); None: compare with what
            was loaded only.
        retry_unfinished: Also reload partitions whose target load did not finish.
    """
    started, taken_at = time.perf_counter(), time.time()
    current = source_fingerprints(source)
    seconds = time.perf_counter() - started
    seen, tick = decode_cursor(cursor)
    with postgres.connection() as conn:
        changes = detect_changes(
            current,
            loaded_baseline(conn),
            seen=seen,
            unfinished=unfinished_partitions(conn) if retry_unfinished else None,
        )
        # A strategy switch is recorded at once, so the next pass compares like with like and
        # the switch is reported once.
        if changes.rebaseline:
            rebaseline(conn, current, changes.rebaseline)
    known = list(instance.get_dynamic_partitions(LEGACY_YEAR))
    new = sort_partition_keys(partition_keys_in(current) - set(known))
    requests = run_requests(
        changes,
        [*known, *new],
        repository,
        key_prefix=f"tick{tick + 1}" if cursor else None,
        fingerprints=(current, taken_at),
    )
    return SyncPass(
        changes,
        new,
        requests,
        encode_cursor(current, tick + 1),
        seconds,
        changes.describe_rebaseline(),
    )


def dependents_stale(request: dg.RunRequest, postgres: PostgresResource) -> bool:
    """False for a dependents run none of whose tables' looked-up parent columns changed.

    Asked right before the run, after the runs before it loaded the parents. Any other run:
    True.
    """
    if request.tags.get(STEP_TAG) != "dependents":
        return True
    with postgres.connection() as conn:
        return bool(dependencies.stale(conn, request.tags[TABLES_TAG].split(",")))


def execute_in_process(
    job: dg.JobDefinition,
    requests: Sequence[dg.RunRequest],
    instance: dg.DagsterInstance,
    parent_run_id: str | None = None,
    needed: Callable[[dg.RunRequest], bool] = lambda request: True,
) -> Iterator[dg.ExecuteInProcessResult]:
    """Execute run requests one after the other in this process (no daemon, no queue).

    A request for which ``needed`` (asked right before it) is False is left out. Stops at the
    first failed run: later runs (the dependents' reload) build on it.
    """
    for request in requests:
        if not needed(request):
            continue
        tags = dict(request.tags)
        if parent_run_id:
            tags[PARENT_RUN_TAG] = parent_run_id
        result = job.execute_in_process(
            instance=instance,
            asset_selection=list(request.asset_selection or []),
            partition_key=request.partition_key,
            tags=tags,
            raise_on_error=False,
        )
        yield result
        if not result.success:
            return
