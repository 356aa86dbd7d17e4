"""Which partitions changed: the source's fingerprints against what was loaded (pure functions).

The *baseline* of a partition is what its target was loaded from: the fingerprint recorded by
the staging load (``migration.partition_fingerprints``). A partition loaded before fingerprints
were recorded has only its row count (``migration.reconciliation``): it counts as changed when
the count differs, and a content change with the same count waits for the partition's next
load or the weekly validation. A table never loaded at all is left to ``full_migration``
(initial loads are not the sync's job).

Fingerprints of different strategies (``kgv_assets.legacy.dialects``: the server was upgraded,
or the baseline was recorded before strategies were) are never compared: such a partition is
compared by its row count, as above, and when the count agrees it is *re-baselined* — its
recorded fingerprint replaced by the current one, nothing reloaded — instead of every
partition of every table reloading at once after a server upgrade.

A partition is changed when its fingerprint differs from the baseline — rows inserted, updated
or deleted, including rows that moved to another year (both years differ) — or when it appears
or disappears in the source. The sensor additionally skips what it already requested
(its cursor holds the fingerprints it last saw).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.fingerprint import Fingerprint
from kgv_assets.partitions import sort_partition_keys

CURSOR_VERSION = 2

Fingerprints = dict[str, dict[str, Fingerprint]]
"""Per legacy table name, per partition key: the fingerprint."""


@dataclass(frozen=True)
class Baseline:
    """What each partition was loaded from: its fingerprint, or only its row count."""

    fingerprints: Fingerprints = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def covers(self, table: str) -> bool:
        """Whether anything is known about ``table`` (else it was never migrated)."""
        return table in self.fingerprints or table in self.counts

    def keys(self, table: str) -> set[str]:
        """The partitions of ``table`` a load recorded."""
        return set(self.fingerprints.get(table, {})) | set(self.counts.get(table, {}))

    def differs(self, table: str, key: str, current: Fingerprint | None) -> bool:
        """Whether partition ``key`` of ``table`` differs from what was loaded.

        A recorded fingerprint is compared whole; a partition loaded before fingerprints were
        recorded is compared by its row count; a partition never loaded differs if it has rows.
        """
        stored = self.fingerprints.get(table, {}).get(key)
        if stored is not None and (current is None or stored.strategy == current.strategy):
            return stored != current
        if stored is not None:
            return stored.rows != current.rows if current else True
        count = self.counts.get(table, {}).get(key)
        if count is not None:
            return count != (current.rows if current else 0)
        return current is not None

    def other_strategy(self, table: str, key: str, current: Fingerprint | None) -> bool:
        """Whether the recorded fingerprint of ``key`` was hashed by another strategy."""
        stored = self.fingerprints.get(table, {}).get(key)
        return stored is not None and current is not None and stored.strategy != current.strategy


@dataclass(frozen=True)
class Changes:
    """The changed partitions of the partitioned tables, and the changed reference tables."""

    partitions: dict[str, list[str]] = field(default_factory=dict)
    reference_tables: list[str] = field(default_factory=list)
    rebaseline: dict[str, list[str]] = field(default_factory=dict)
    """Per table, unchanged partitions whose fingerprint was recorded by another strategy: their
    current fingerprint is to be recorded (not a change; nothing reloads)."""

    def __bool__(self) -> bool:
        return bool(self.partitions or self.reference_tables)

    @property
    def partition_keys(self) -> list[str]:
        """Every changed partition key, in reading order."""
        return sort_partition_keys({k for keys in self.partitions.values() for k in keys})

    def describe(self) -> str:
        """One line for logs: tables and partition keys only."""
        parts = [f"{t} [{', '.join(keys)}]" for t, keys in sorted(self.partitions.items())]
        parts += self.reference_tables
        return "; ".join(parts) or "no changes"

    def describe_rebaseline(self) -> str | None:
        """One line for logs when partitions are re-baselined, else None."""
        if not self.rebaseline:
            return None
        n = sum(map(len, self.rebaseline.values()))
        return (
            f"fingerprint strategy changed (server upgraded?): re-baselined {n} unchanged "
            f"partitions of {', '.join(sorted(self.rebaseline))} (equal row counts), none reloaded"
        )


def detect_changes(
    current: Fingerprints,
    baseline: Baseline,
    *,
    seen: Fingerprints | None = None,
    unfinished: Mapping[str, set[str]] | None = None,
) -> Changes:
    """The partitions to reload.

    Args:
        current: The source's fingerprints now, per table and partition.
        baseline: What the target was loaded from.
        seen: Fingerprints already acted on (the sensor's cursor): a partition whose current
            fingerprint equals the one seen is not requested again. None: no such filter.
        unfinished: Partitions staged but whose target load did not finish: reloaded too.
    """
    partitions: dict[str, list[str]] = {}
    reference: list[str] = []
    rebaseline: dict[str, list[str]] = {}
    for t in TABLES:
        if not baseline.covers(t.name):
            continue
        now = current.get(t.name, {})
        keys = set(now) | baseline.keys(t.name)
        changed = {k for k in keys if baseline.differs(t.name, k, now.get(k))}
        switched = {k for k in keys if baseline.other_strategy(t.name, k, now.get(k))}
        if switched - changed:
            rebaseline[t.name] = sort_partition_keys(switched - changed)
        changed |= set((unfinished or {}).get(t.name, set()))
        if seen is not None and t.name in seen:
            changed = {k for k in changed if seen[t.name].get(k) != now.get(k)}
        if not changed:
            continue
        if t.is_partitioned:
            partitions[t.name] = sort_partition_keys(changed)
        else:
            reference.append(t.name)
    return Changes(partitions, reference, rebaseline)


def partition_keys_in(current: Fingerprints) -> set[str]:
    """Every partition key of the partitioned tables in ``current``."""
    return {k for t in TABLES if t.is_partitioned for k in current.get(t.name, {})}


def encode_cursor(fingerprints: Fingerprints, tick: int) -> str:
    """The sensor's cursor: compact JSON ``{"v", "tick", "fp": {table: {key: [n, hi, lo]}}}``.

    ``"st"`` holds each table's strategy (one strategy per source, so per table suffices).
    """
    body = {
        "v": CURSOR_VERSION,
        "tick": tick,
        "fp": {t: {k: f.as_list() for k, f in sorted(p.items())} for t, p in fingerprints.items()},
        "st": {t: next(iter(p.values())).strategy for t, p in sorted(fingerprints.items()) if p},
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def decode_cursor(cursor: str | None) -> tuple[Fingerprints | None, int]:
    """Inverse of ``encode_cursor``; (None, 0) for no cursor or one of another version."""
    if not cursor:
        return None, 0
    body = json.loads(cursor)
    if body.get("v") != CURSOR_VERSION:
        return None, 0
    strategies = body.get("st", {})
    fingerprints = {
        t: {k: Fingerprint.from_list(v, strategies.get(t)) for k, v in p.items()}
        for t, p in body["fp"].items()
    }
    return fingerprints, int(body.get("tick", 0))


RUN_FINGERPRINTS_MAX_AGE = 600.0
"""Seconds a pass's fingerprints stand in for the staging load's own (then it takes its own)."""


def encode_run_fingerprints(
    current: Fingerprints,
    tables: Sequence[str],
    partitions: Sequence[str] | None,
    taken_at: float,
) -> str:
    """The fingerprints a pass took of what one run loads, for the run's tag.

    ``{"at": <epoch seconds>, "fp": {table: {key: [n, hi, lo] | null}}, "st": {table: name}}``;
    ``partitions`` None (a reference run): every partition of the tables. A partition the
    source has no rows in is ``null`` (known empty, unlike a key left out).
    """
    fp: dict[str, dict[str, list[int] | None]] = {}
    strategies: dict[str, str | None] = {}
    for table in tables:
        now = current.get(table, {})
        keys = sorted(now) if partitions is None else partitions
        fp[table] = {k: f.as_list() if (f := now.get(k)) else None for k in keys}
        strategies[table] = next((f.strategy for f in now.values()), None)
    body = {"at": round(taken_at, 3), "fp": fp, "st": strategies}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def decode_run_fingerprints(
    tag: str | None,
    table: str,
    partitions: Sequence[str] | None,
    strategy: str,
    now: float,
) -> dict[str, Fingerprint] | None:
    """The pass's fingerprints of ``partitions`` of ``table`` from a run's tag, if usable.

    Usable: taken at most ``RUN_FINGERPRINTS_MAX_AGE`` seconds ago, by ``strategy``, and
    covering every partition the load reads (None: the table whole, as the pass saw it).
    Anything else — no tag, a re-execution days later, another strategy — is None: the load
    fingerprints the source itself. Either way the fingerprint is taken before the read.
    """
    if not tag:
        return None
    body = json.loads(tag)
    if not 0 <= now - float(body.get("at", 0)) <= RUN_FINGERPRINTS_MAX_AGE:
        return None
    recorded = body.get("fp", {}).get(table)
    if recorded is None or body.get("st", {}).get(table) not in (strategy, None):
        return None
    if partitions is not None and not set(partitions) <= set(recorded):
        return None
    return {
        k: Fingerprint.from_list(v, strategy)
        for k, v in recorded.items()
        if v is not None and (partitions is None or k in partitions)
    }
