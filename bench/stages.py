"""Where a full migration's time went, per stage, from the run's own Dagster event log.

Read after the run from the instance it ran on (``DagsterInstance``): the step durations
(``get_run_step_stats``) and the materialization and check events of the run. A load
materialization may carry ``seconds_<part>`` metadata (``seconds_extract``,
``seconds_validate``, ``seconds_write``, ``seconds_transform``, ``seconds_indexes``, …): each
part is summed over the run, per layer (staging = the legacy tables' assets, target = ``kgv``),
and named as the stage it is:

- extract, legacy validation, staging write: the staging loads' parts;
- transform, target write: the target loads' parts; index/constraint build: any load's
  ``seconds_indexes``;
- checks: the durations of the steps that only evaluate asset checks; report: the report
  asset's step;
- other work: what the steps did that no part names: a load's ``seconds`` less its parts, and
  the steps of other assets (the schema, the views, the snapshot).

A load reports its timings once for the whole load, repeated on each partition's
materialization: they are counted once per step and asset (``_once_per_asset``). The rest:

- Dagster overhead: the time inside steps that no work claims (a step's duration less its
  loads' ``seconds``: event writing, resource set-up, IO around the load) plus the time outside
  any step (planning, start-up, the end of the run): the run's wall clock less the union of
  the step intervals, not less their sum, since steps that run side by side overlap. In a
  serial run it is the wall clock less all the work above.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import dagster as dg

from kgv_assets.layout import REPORT_KEY, TARGET

# (layer, part) → the stage's name in the table; parts not named here are listed as they are
STAGE_OF = {
    ("staging", "extract"): "extract",
    ("staging", "validate"): "legacy validation",
    ("staging", "write"): "staging write",
    ("target", "extract"): "extract",
    ("target", "transform"): "transform",
    ("target", "write"): "target write",
    ("staging", "indexes"): "index/constraint build",
    ("target", "indexes"): "index/constraint build",
}
STAGES = (
    "extract",
    "legacy validation",
    "staging write",
    "transform",
    "target write",
    "index/constraint build",
    "checks",
    "report",
    "other work",
    "Dagster overhead",
)


def _union(intervals: Iterable[tuple[float, float]]) -> float:
    """The length of the union of ``intervals``."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def _number(value: object) -> float | None:
    raw = getattr(value, "value", value)
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None


def _layer(key: dg.AssetKey) -> str:
    return "target" if key.path[0] == TARGET else "staging"


def _once_per_asset(
    outputs: Iterable[tuple[dg.AssetKey, Mapping[str, object]]],
) -> dict[dg.AssetKey, dict[str, float]]:
    """Per asset of a step: its ``seconds`` and ``seconds_*`` timings, counted once.

    A partitioned load materializes every partition with the metadata of the whole load, so a
    timing repeats on each partition's event: the largest of the repeats is the load's.
    """
    out: dict[dg.AssetKey, dict[str, float]] = defaultdict(dict)
    for key, metadata in outputs:
        for name, value in metadata.items():
            number = _number(value)
            if number is not None and (name == "seconds" or name.startswith("seconds_")):
                out[key][name] = max(out[key].get(name, 0.0), number)
    return out


def profile(instance: dg.DagsterInstance, run_id: str, wall_seconds: float) -> dict[str, object]:
    """Seconds per stage of the run ``run_id`` (its wall clock measured by the caller)."""
    steps = {
        s.step_key: (s.start_time, s.end_time)
        for s in instance.get_run_step_stats(run_id)
        if s.start_time is not None and s.end_time is not None
    }
    materialized: dict[str, list[tuple[dg.AssetKey, Mapping[str, object]]]] = defaultdict(list)
    checked: set[str] = set()
    kinds = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    cursor = None
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, of_type=kinds, limit=1000)
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.step_materialization_data.materialization
                materialized[event.step_key].append(
                    (materialization.asset_key, materialization.metadata)
                )
            else:
                checked.add(event.step_key)
        cursor = page.cursor
        if not page.has_more:
            break

    seconds: dict[str, float] = defaultdict(float)
    parts_seen: set[str] = set()
    for step, (start, end) in steps.items():
        duration = end - start
        outputs = materialized.get(step, [])
        if not outputs:
            seconds["checks" if step in checked else "other work"] += duration
            continue
        if any(key == REPORT_KEY for key, _ in outputs):
            seconds["report"] += duration
            continue
        claimed = 0.0
        for key, metadata in _once_per_asset(outputs).items():
            load = metadata.pop("seconds", None)
            parts = 0.0
            for name, part in metadata.items():
                name_of = name.removeprefix("seconds_")
                parts_seen.add(name_of)
                stage = STAGE_OF.get((_layer(key), name_of), f"{_layer(key)} {name_of}")
                seconds[stage] += part
                parts += part
            if load is not None and load > parts:  # the load's time no part names
                rest = "other work" if parts else f"{_layer(key)} loads (no parts reported)"
                seconds[rest] += load - parts
                parts = load
            claimed += parts
        if not claimed:  # an asset without load timings: its step is its work
            claimed = duration
            seconds["other work"] += duration
        seconds["in-step overhead"] += max(0.0, duration - claimed)
    outside = max(0.0, wall_seconds - _union(steps.values()))
    work = sum(v for k, v in seconds.items() if k != "in-step overhead")
    seconds["Dagster overhead"] = seconds.pop("in-step overhead", 0.0) + outside
    ordered = {s: round(seconds.pop(s, 0.0), 3) for s in STAGES}
    ordered |= {s: round(v, 3) for s, v in sorted(seconds.items())}
    return {
        "wall_seconds": round(wall_seconds, 3),
        "work_seconds": round(work, 3),
        "steps": len(steps),
        "step_seconds_sum": round(sum(e - s for s, e in steps.values()), 3),
        "outside_steps_seconds": round(outside, 3),
        "parts_reported": sorted(parts_seen),
        "stages": ordered,
    }


def profile_of_last_run(
    instance: dg.DagsterInstance, job_name: str, wall_seconds: float
) -> dict[str, object]:
    """The profile of the latest run of ``job_name`` on ``instance``."""
    runs = instance.get_runs(dg.RunsFilter(job_name=job_name), limit=1)
    if not runs:
        raise RuntimeError(f"no run of {job_name} on the instance")
    return profile(instance, runs[0].run_id, wall_seconds)
