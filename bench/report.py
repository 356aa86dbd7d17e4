"""Aggregate the repetitions and write the results: one table, JSON and Markdown.

Per step: median, min and max of the wall clock over the repetitions, legacy rows per second
(of the median), CPU seconds and peak memory of the process tree; for the in-process steps also
the clock around the work alone. Then the ratios the issue asks for: against pgloader, against
the COPY floor, full against incremental, and the targets (50,000 rows/s of work, no slower
than pgloader, 1 GiB, incremental 10x faster).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.steps import StepResult

STEPS = {
    "full_cli": "full migration, `dagster job execute full_migration` (as users run it)",
    "full_in_process": "full migration, `execute_in_process` (no CLI start-up)",
    "pgloader_text": "pgloader, every column as text (the raw copy of every row)",
    "pgloader_defaults": "pgloader, defaults (+ the uniqueidentifier cast it needs)",
    "copy_floor": "bare psycopg COPY of the same rows into text columns (the floor)",
    "sensor_tick": "legacy_changes_sensor, one evaluation after 1 % changed in one year",
    "incremental": "incremental_migration: detect and reload the changed partitions",
}
TARGET_ROWS_PER_SECOND = 50_000
TARGET_PEAK_MB = 1024
TARGET_INCREMENTAL_SPEEDUP = 10


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def summarise(results: Sequence[StepResult]) -> dict[str, object]:
    """Median, min and max over the repetitions of one step."""
    seconds = [r.seconds for r in results]
    work = [r.work_seconds for r in results if r.work_seconds is not None]
    rows = results[0].rows if results else 0
    median = _median(seconds)
    summary: dict[str, object] = {
        "repetitions": len(results),
        "all_ok": all(r.ok for r in results),
        "rows": rows,
        "seconds_median": round(median, 3),
        "seconds_min": round(min(seconds), 3),
        "seconds_max": round(max(seconds), 3),
        "rows_per_second": round(rows / median) if median else 0,
        "cpu_seconds_median": round(_median([r.cpu_seconds for r in results]), 3),
        "peak_rss_mb_max": max(r.peak_rss_mb for r in results),
    }
    if work:
        work_median = _median(work)
        summary |= {
            "work_seconds_median": round(work_median, 3),
            "work_seconds_min": round(min(work), 3),
            "work_seconds_max": round(max(work), 3),
            "work_rows_per_second": round(rows / work_median) if work_median else 0,
        }
    return summary


def _get(summary: Mapping[str, Mapping[str, object]], step: str, key: str) -> float | None:
    value = summary.get(step, {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def ratios(summary: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
    """The comparisons and targets, from the medians."""
    full = _get(summary, "full_cli", "seconds_median")
    work = _get(summary, "full_in_process", "work_seconds_median")
    pgl = _get(summary, "pgloader_text", "seconds_median")
    floor = _get(summary, "copy_floor", "seconds_median")
    incremental = _get(summary, "incremental", "seconds_median")
    incremental_work = _get(summary, "incremental", "work_seconds_median")
    sensor = _get(summary, "sensor_tick", "work_seconds_median")
    work_rate = _get(summary, "full_in_process", "work_rows_per_second")
    peak = max(
        (_get(summary, s, "peak_rss_mb_max") or 0 for s in ("full_cli", "full_in_process")),
        default=0,
    )
    sync = (incremental_work or 0) + (sensor or 0) if incremental_work is not None else None
    return {
        "full_cli_vs_pgloader": _ratio(full, pgl),
        "full_work_vs_pgloader": _ratio(work, pgl),
        "full_work_vs_copy_floor": _ratio(work, floor),
        "pgloader_vs_copy_floor": _ratio(pgl, floor),
        "cli_fixed_seconds": round(full - work, 3) if full and work else None,
        "full_vs_incremental": _ratio(full, incremental),
        "full_work_vs_sensor_plus_incremental_work": _ratio(work, sync),
        "targets": {
            "work_rows_per_second": {
                "target": TARGET_ROWS_PER_SECOND,
                "measured": work_rate,
                "met": bool(work_rate and work_rate >= TARGET_ROWS_PER_SECOND),
            },
            "wall_no_worse_than_pgloader": {
                "target": 1.0,
                "measured": _ratio(full, pgl),
                "met": bool(full and pgl and full <= pgl),
            },
            "peak_memory_mb": {
                "target": TARGET_PEAK_MB,
                "measured": peak,
                "met": bool(peak and peak <= TARGET_PEAK_MB),
            },
            "incremental_speedup": {
                "target": TARGET_INCREMENTAL_SPEEDUP,
                "measured": _ratio(full, incremental),
                "met": bool(full and incremental and full / incremental >= 10),
            },
        },
    }


def _cell(value: object, fmt: str = "{:,.1f}") -> str:
    return fmt.format(value) if isinstance(value, int | float) else "—"


def markdown(result: Mapping[str, object]) -> str:
    """The results as Markdown: environment, the table, the ratios and targets, notes."""
    env = result["environment"]
    assert isinstance(env, dict)
    summary = result["steps"]
    assert isinstance(summary, dict)
    lines = [
        f"# Benchmark: {result['legacy_rows']:,} legacy rows (demo scale {result['scale']:g}),"
        f" {result['repetitions']} repetition(s)",
        "",
        f"{env['when']} · {env['cores']} cores · {env['memory_gib']:.1f} GiB · PostgreSQL"
        f" {env['postgresql']} · {env['pgloader']} · Python {env['python']} · Dagster"
        f" {env['dagster']} · commit {env['commit']} · load average before"
        f" {env['load_before']}, after {env['load_after']}",
        "",
        "| step | rows | median s | min-max s | rows/s | work s (in process) | work rows/s"
        " | CPU s | peak RSS MiB | ok |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for step, text in STEPS.items():
        s = summary.get(step)
        if not s:
            continue
        lines.append(
            f"| {text} | {_cell(s['rows'], '{:,}')} | {_cell(s['seconds_median'])} |"
            f" {_cell(s['seconds_min'])}-{_cell(s['seconds_max'])} |"
            f" {_cell(s['rows_per_second'], '{:,}')} |"
            f" {_cell(s.get('work_seconds_median'))} |"
            f" {_cell(s.get('work_rows_per_second'), '{:,}')} | {_cell(s['cpu_seconds_median'])}"
            f" | {_cell(s['peak_rss_mb_max'], '{:,.0f}')} | {'yes' if s['all_ok'] else 'NO'} |"
        )
    r = result["ratios"]
    assert isinstance(r, dict)
    lines += [
        "",
        "Ratios (medians):",
        "",
        "- full migration (CLI) / pgloader (all text):"
        f" **{_cell(r['full_cli_vs_pgloader'], '{}')}x** its wall time; the work alone (in"
        f" process): {_cell(r['full_work_vs_pgloader'], '{}')}x",
        f"- work / COPY floor: {_cell(r['full_work_vs_copy_floor'], '{}')}x; pgloader / COPY floor:"
        f" {_cell(r['pgloader_vs_copy_floor'], '{}')}x",
        f"- fixed cost of the command line (CLI wall - in-process work):"
        f" {_cell(r['cli_fixed_seconds'])} s",
        f"- full migration (CLI) / incremental sync: {_cell(r['full_vs_incremental'], '{}')}x;"
        f" work / (sensor tick + incremental work):"
        f" {_cell(r['full_work_vs_sensor_plus_incremental_work'], '{}')}x",
        "",
        "Targets:",
        "",
    ]
    targets = r["targets"]
    assert isinstance(targets, dict)
    for name, t in targets.items():
        lines.append(
            f"- {name.replace('_', ' ')}: target {t['target']}, measured"
            f" {_cell(t['measured'], '{}')} — **{'met' if t['met'] else 'not met'}**"
        )
    notes = result.get("notes")
    if notes:
        lines += ["", "Notes:", "", *(f"- {n}" for n in notes)]  # type: ignore[union-attr]
    memory = result.get("memory")
    if memory:
        lines += ["", memory_markdown(memory)]  # type: ignore[arg-type]
    return "\n".join(lines) + "\n"


def memory_markdown(memory: Sequence[Mapping[str, object]]) -> str:
    """The memory scaling table (peak RSS of the CLI's process tree per scale)."""
    lines = [
        "Memory scaling (full migration with `dagster job execute`, one run per scale):",
        "",
        "| scale | legacy rows | seconds | peak RSS MiB | MiB per 100k rows |",
        "|---:|---:|---:|---:|---:|",
    ]
    for m in memory:
        rows = m["legacy_rows"]
        peak = m["peak_rss_mb"]
        assert isinstance(rows, int) and isinstance(peak, int | float)
        lines.append(
            f"| {m['scale']:g} | {rows:,} | {_cell(m['seconds'])} | {peak:,.0f} |"
            f" {peak / rows * 100_000:,.1f} |"
        )
    return "\n".join(lines)


def write(result: Mapping[str, object], directory: Path, name: str = "latest") -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}.json"
    md_path = directory / f"{name}.md"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(result))
    return json_path, md_path
