"""The runs that bring changed partitions into the target: which assets, which partitions, order.

One run per contiguous range of changed partitions (contiguous in the order the instance
registered the yearly partitions). Dagster runs one partition or one contiguous range
(partition-range tags); a set such as {2015, 2021} becomes two runs rather than one range run
that would reload the unchanged years in between. Tables whose changed partitions form the
same range share the run (the usual case: new rows of the current year in every dated table),
so each target table loads once. The run selects the changed legacy assets and everything
downstream of them (target tables, views, their asset checks, the report).

A partitioned target table that references another table's rows across partitions — history
rows point to applications of any year, applications to file references of any year — is
reloaded over *all* partitions in one run after the others: a deleted application's history
may lie in any year (the foreign key cascades the delete; the reload quarantines those rows as
orphans, as a fresh migration would), and a new file reference may be the one an older
application names. Only the target stage is reloaded (staging is not re-read) and the merge
writes only rows that really changed; the daemon-free sync skips that run when the parent
columns the dependent looks up did not change (``kgv_assets.sync.dependencies``), so a
dependent whose own legacy table changed loads those partitions in the partitions run.
Reference-table changes come first, in one run (their dependents are unpartitioned and follow
in the same run).

All runs carry the tag ``kgv/run_kind``, which ``dagster.yaml`` limits to one run at a time: the
queued run coordinator starts them one after the other, in the order they were requested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from kgv_assets.layout import legacy_key, loaded_from, target_key, target_table
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from kgv_assets.sync.changes import Changes, Fingerprints, encode_run_fingerprints
from kgv_assets.transform.tables.registry import LOADERS

REFRESH_JOB = "partition_refresh_job"
RUN_KIND_TAG = "kgv/run_kind"
TABLES_TAG = "kgv/sync_tables"
STEP_TAG = "kgv/sync_step"
FINGERPRINTS_TAG = "kgv/source_fingerprints"
"""On a run that stages tables: the fingerprints the pass took of them, so the staging load need
not fingerprint the source again (``kgv_assets.sync.changes.decode_run_fingerprints``)."""


@dataclass(frozen=True)
class Refresh:
    """One run of a sync: the assets it selects and the partitions it covers."""

    selection: dg.AssetSelection
    partitions: tuple[str, ...] | None
    """Contiguous partition keys; None for a run of unpartitioned assets only."""
    tables: tuple[str, ...]
    step: str
    """``reference``, ``partitions`` or ``dependents`` (shown as a run tag)."""


def cross_partition_dependents(tables: Sequence[str]) -> list[str]:
    """Partitioned target tables that reference the targets of ``tables`` across partitions."""
    parents = {loaded_from(t).name for t in tables if loaded_from(t).partitioned}
    return sorted(
        c.mapping.target
        for c in LOADERS
        if c.mapping.table.partitioned and parents & set(c.parents)
    )


def contiguous_runs(keys: Sequence[str], order: Sequence[str]) -> list[tuple[str, ...]]:
    """``keys`` split into maximal runs of neighbours in ``order`` (keys not in order: alone)."""
    position = {k: i for i, k in enumerate(order)}
    ranked = sorted(set(keys), key=lambda k: (position.get(k, len(order)), k))
    runs: list[list[str]] = []
    for key in ranked:
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and key in position
            and last in position
            and position[key] == position[last] + 1
        ):
            runs[-1].append(key)
        else:
            runs.append([key])
    return [tuple(r) for r in runs]


def plan_refreshes(changes: Changes, order: Sequence[str]) -> list[Refresh]:
    """The runs that load ``changes``, in the order they must run.

    Args:
        changes: The changed partitions and reference tables.
        order: Every registered partition key, in the instance's order (new keys included).
    """
    refreshes: list[Refresh] = []
    if changes.reference_tables:
        refreshes.append(
            Refresh(
                dg.AssetSelection.assets(*map(legacy_key, changes.reference_tables)).downstream(),
                None,
                tuple(changes.reference_tables),
                "reference",
            )
        )
    dependents = cross_partition_dependents(list(changes.partitions))
    later = (
        dg.AssetSelection.assets(*map(target_key, dependents)).downstream() if dependents else None
    )
    by_range: dict[tuple[str, ...], list[str]] = {}
    for name in (t.name for t in TABLES if t.name in changes.partitions):
        for keys in contiguous_runs(changes.partitions[name], order):
            by_range.setdefault(keys, []).append(name)
    position = {k: i for i, k in enumerate(order)}
    for keys in sorted(by_range, key=lambda r: position.get(r[0], len(order))):
        names = by_range[keys]
        selection = dg.AssetSelection.assets(*map(legacy_key, names)).downstream()
        # A dependent whose own legacy table changed in these partitions loads them here too
        # (the all-partitions run may be skipped: kgv_assets.sync.dependencies); else it waits.
        waiting = [d for d in dependents if target_table(d).legacy.name not in names]
        if waiting:
            selection = selection - dg.AssetSelection.assets(*map(target_key, waiting))
        refreshes.append(Refresh(selection, keys, tuple(names), "partitions"))
    if later is not None and order:
        refreshes.append(Refresh(later, tuple(order), tuple(dependents), "dependents"))
    return refreshes


def run_request(
    refresh: Refresh,
    repository: dg.RepositoryDefinition,
    run_key: str | None = None,
    fingerprints: tuple[Fingerprints, float] | None = None,
) -> dg.RunRequest:
    """The RunRequest of ``refresh``, its selection resolved against the code location.

    ``fingerprints``: the pass's fingerprints and when it began taking them (epoch seconds);
    a run that stages tables carries those of its tables and partitions (``FINGERPRINTS_TAG``).
    """
    graph = repository.asset_graph
    keys = sorted(refresh.selection.resolve(graph))
    partitioned = [k for k in keys if graph.get(k).partitions_def is not None]
    tags = {
        RUN_KIND_TAG: "sync",
        TABLES_TAG: ",".join(refresh.tables),
        STEP_TAG: refresh.step,
    }
    if fingerprints is not None and refresh.step in ("reference", "partitions"):
        current, taken_at = fingerprints
        tags[FINGERPRINTS_TAG] = encode_run_fingerprints(
            current, refresh.tables, refresh.partitions, taken_at
        )
    if refresh.partitions is None:
        if partitioned:
            raise ValueError(f"an unpartitioned refresh selects partitioned assets: {partitioned}")
        return dg.RunRequest(run_key=run_key, asset_selection=keys, tags=tags)
    if len(refresh.partitions) == 1:
        return dg.RunRequest(
            run_key=run_key,
            asset_selection=keys,
            tags=tags,
            partition_key=refresh.partitions[0],
        )
    tags |= {RANGE_START_TAG: refresh.partitions[0], RANGE_END_TAG: refresh.partitions[-1]}
    return dg.RunRequest(run_key=run_key, asset_selection=keys, tags=tags)


def run_requests(
    changes: Changes,
    order: Sequence[str],
    repository: dg.RepositoryDefinition,
    key_prefix: str | None = None,
    fingerprints: tuple[Fingerprints, float] | None = None,
) -> list[dg.RunRequest]:
    """The RunRequests of ``changes``; run keys ``<prefix>:<n>`` make a retried tick idempotent.

    ``fingerprints``: see ``run_request``.
    """
    return [
        run_request(r, repository, f"{key_prefix}:{i}" if key_prefix else None, fingerprints)
        for i, r in enumerate(plan_refreshes(changes, order))
    ]
