"""Aggregate the repetitions and write the results: the tables, JSON and Markdown.

Per step: median, min and max of the wall clock over the repetitions, legacy rows per second
(of the median), the rows copied, dropped and altered (the peers: compared with the source;
the migration: its own accounting), CPU seconds of the process tree, of the PostgreSQL server
and of the machine, and peak memory of the process tree; for the in-process steps also the
clock around the work alone. Then where the full migration's time went per stage, the scaling,
and the issue's targets, each met or not met with the measured value.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.stages import STAGES
from bench.steps import StepResult

STEPS = {
    "full_cli": "full migration, `dagster job execute full_migration` (as users run it)",
    "full_in_process": "full migration, `execute_in_process` (no CLI start-up)",
    "sensor_tick": "legacy_changes_sensor, one evaluation after 1 % changed in one year",
    "incremental": "incremental_migration: detect and reload the changed partitions",
    "pgloader_text": "pgloader, every column as text (the raw copy of every row)",
    "pgloader_defaults": "pgloader, defaults (+ the uniqueidentifier cast it needs)",
    "sling": "sling, all columns as strings + `replace_0x00` (what it needs to run at all)",
    "dlt": "dlt `sql_database` (pyarrow) → postgres, all columns text + NUL removed",
    "copy_floor": "floor: bare psycopg COPY of the source rows into text columns",
    "schema_floor": "schema floor: COPY of the migrated target rows into the target DDL",
}
PEERS = ("pgloader_text", "pgloader_defaults", "sling", "dlt")
TARGET_CLI_VS_PGLOADER = 4.0
TARGET_ROWS_PER_SECOND = 35_000
TARGET_CPU_PER_WALL = 1.5
TARGET_INCREMENTAL_SPEEDUP = 10.0
TARGET_PEAK_MB = 1024
# the stages a raw copy (pgloader, sling, dlt) does too, and those only the migration does
COPY_STAGES = ("extract", "staging write", "target write", "index/constraint build")
OWN_STAGES = ("legacy validation", "transform", "checks", "report")
NOTES = [
    "rows/s: legacy rows of the whole source per second of the step's wall clock; work rows/s:"
    " per second of the in-process clock around the job alone.",
    "copied / dropped / altered: for the peers, per legacy table, rows in the peer's table,"
    " source rows missing (fewer rows) and source rows whose text values (varchar and char"
    " columns, byte for byte) have no identical row in the copy (bench/fidelity.py); for the"
    " migration, its accounting: rows loaded + quarantined, and source rows it cannot account"
    " for (it alters values only by its rules and keeps the quarantined rows' originals).",
    "CPU: the command's process tree; the PostgreSQL server's processes over the same time; the"
    " whole machine's non-idle time (/proc/stat, other users of the machine included). CPU ÷"
    " wall is how many of the cores were busy.",
    "peak RSS: the largest sum over the process tree of the command (sampled every 50 ms); the"
    " PostgreSQL server's own processes are not included.",
    "pgloader needs a cast for the SQL Server type uniqueidentifier to create its tables at"
    " all; with its defaults otherwise it drops every batch holding a value its types reject,"
    " so the all-text run is the like-for-like raw copy. It cuts text at a NUL byte (altered).",
    "sling aborts on the first NUL byte or on '12a' in an int column unless every column is a"
    " string and the replace_0x00 transform is on; dlt's sql_database aborts on the GUIDs (read"
    " as NUMERIC), on '12a' and on NUL bytes unless every column is read and cast as text and"
    " NUL removed (bench/peer_dlt.py).",
    "schema floor: the kgv rows of the in-process run, COPied (binary) into a fresh database"
    " with sql/target applied as the project applies it, on one core the cheapest way"
    " (secondary indexes and foreign keys built after the COPY, audit triggers off; the"
    " migration's own bulk load keeps a target table's indexes, PostgreSQL maintaining them"
    " on the second core while Python converts).",
    "incremental: 1 % of all legacy rows changed in the busiest year (Antrag and Verlauf), then"
    " one legacy_changes_sensor evaluation and the incremental_migration job on the database"
    " the CLI run migrated.",
]


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def _median_of(results: Sequence[StepResult], attribute: str) -> float | None:
    values = [v for r in results if isinstance(v := getattr(r, attribute), int | float)]
    return round(_median(values), 3) if values else None


def _detail_median(results: Sequence[StepResult], key: str) -> int | None:
    values = [v for r in results if isinstance(v := r.detail.get(key), int)]
    return round(_median(values)) if values else None


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
        "cpu_seconds_median": _median_of(results, "cpu_seconds"),
        "server_cpu_seconds_median": _median_of(results, "server_cpu_seconds"),
        "machine_cpu_seconds_median": _median_of(results, "machine_cpu_seconds"),
        "peak_rss_mb_max": max(r.peak_rss_mb for r in results),
    }
    for key in ("copied_rows", "dropped_rows", "altered_rows"):
        summary[key] = _detail_median(results, key)
    tree, server = summary["cpu_seconds_median"], summary["server_cpu_seconds_median"]
    machine = summary["machine_cpu_seconds_median"]
    if median and isinstance(tree, float):
        ours = tree + (server if isinstance(server, float) else 0.0)
        summary["cpu_per_wall"] = round(ours / median, 2)
    if median and isinstance(machine, float):
        summary["machine_cpu_per_wall"] = round(machine / median, 2)
    if work:
        work_median = _median(work)
        summary |= {
            "work_seconds_median": round(work_median, 3),
            "work_seconds_min": round(min(work), 3),
            "work_seconds_max": round(max(work), 3),
            "work_rows_per_second": round(rows / work_median) if work_median else 0,
        }
    return summary


def stage_medians(results: Sequence[StepResult]) -> dict[str, object] | None:
    """Per stage, the median seconds over the repetitions of the in-process run."""
    profiles = [p for r in results if isinstance(p := r.detail.get("stages"), dict)]
    if not profiles:
        return None
    names = list(dict.fromkeys(n for p in profiles for n in p["stages"]))
    return {
        "wall_seconds": round(_median([p["wall_seconds"] for p in profiles]), 3),
        "outside_steps_seconds": round(_median([p["outside_steps_seconds"] for p in profiles]), 3),
        "steps": profiles[0]["steps"],
        "parts_reported": sorted({x for p in profiles for x in p["parts_reported"]}),
        "stages": {
            n: round(_median([p["stages"].get(n, 0.0) for p in profiles]), 3) for n in names
        },
    }


def scaling_row(scale: float, factor: float, rows: int, result: StepResult) -> dict[str, object]:
    """One scaling row: the in-process full migration at ``scale``."""
    work = result.work_seconds
    machine = result.machine_cpu_seconds
    return {
        "scale": scale,
        "factor": factor,
        "legacy_rows": rows,
        "seconds": result.seconds,
        "work_seconds": work,
        "work_rows_per_second": round(rows / work) if work else None,
        "machine_cpu_per_wall": round(machine / result.seconds, 2) if machine else None,
        "peak_rss_mb": result.peak_rss_mb,
        "ok": result.ok,
    }


def _get(summary: Mapping[str, Mapping[str, object]], step: str, key: str) -> float | None:
    value = summary.get(step, {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _target(key: str, target: float, measured: float | None, met: bool) -> dict[str, object]:
    return {
        "key": key,
        "target": target,
        "measured": measured,
        "met": bool(measured is not None and met),
    }


@dataclass(frozen=True)
class Figures:
    """The medians the ratios, the targets and what is left are computed from (None: not run)."""

    full: float | None  # the CLI run's wall clock
    work: float | None  # the in-process run's work
    pgl: float | None  # pgloader's all-text copy
    floor: float | None  # the bare COPY
    schema: float | None  # the schema floor's work
    incremental: float | None  # the incremental sync's wall clock
    incremental_work: float | None  # and its work

    @classmethod
    def of(cls, summary: Mapping[str, Mapping[str, object]]) -> Figures:
        """The figures of a run's summary."""
        return cls(
            full=_get(summary, "full_cli", "seconds_median"),
            work=_get(summary, "full_in_process", "work_seconds_median"),
            pgl=_get(summary, "pgloader_text", "seconds_median"),
            floor=_get(summary, "copy_floor", "seconds_median"),
            schema=_get(summary, "schema_floor", "work_seconds_median"),
            incremental=_get(summary, "incremental", "seconds_median"),
            incremental_work=_get(summary, "incremental", "work_seconds_median"),
        )


def ratios(
    summary: Mapping[str, Mapping[str, object]],
    legacy_rows: int,
    scaled: Sequence[Mapping[str, object]] | None = None,
) -> dict[str, object]:
    """The comparisons and the targets, from the medians."""
    f = Figures.of(summary)
    full, work, pgl, floor, schema = f.full, f.work, f.pgl, f.floor, f.schema
    incremental, incremental_work = f.incremental, f.incremental_work
    sensor = _get(summary, "sensor_tick", "work_seconds_median")
    work_rate = _get(summary, "full_in_process", "work_rows_per_second")
    cpu = _get(summary, "full_in_process", "machine_cpu_per_wall")
    peak = max(
        (_get(summary, s, "peak_rss_mb_max") or 0 for s in ("full_cli", "full_in_process")),
        default=0,
    )
    sync = (incremental_work or 0) + (sensor or 0) if incremental_work is not None else None
    cli_vs_pgl = _ratio(full, pgl)
    speedup = _ratio(full, incremental)
    return {
        "full_cli_vs_pgloader": cli_vs_pgl,
        "full_work_vs_pgloader": _ratio(work, pgl),
        "full_work_vs_copy_floor": _ratio(work, floor),
        "full_work_vs_schema_floor": _ratio(work, schema),
        "pgloader_vs_copy_floor": _ratio(pgl, floor),
        "cli_fixed_seconds": round(full - work, 3) if full and work else None,
        "full_vs_incremental": speedup,
        "full_work_vs_sensor_plus_incremental_work": _ratio(work, sync),
        "targets": {
            "CLI wall ≤ 4x pgloader (all text)": _target(
                "cli",
                TARGET_CLI_VS_PGLOADER,
                cli_vs_pgl,
                cli_vs_pgl is not None and cli_vs_pgl <= TARGET_CLI_VS_PGLOADER,
            ),
            "≥ 35,000 legacy rows/s of work": _target(
                "rate",
                TARGET_ROWS_PER_SECOND,
                work_rate,
                work_rate is not None and work_rate >= TARGET_ROWS_PER_SECOND,
            ),
            "CPU ÷ wall ≥ 1.5 (machine, in-process run)": _target(
                "cpu", TARGET_CPU_PER_WALL, cpu, cpu is not None and cpu >= TARGET_CPU_PER_WALL
            ),
            "incremental ≥ 10x faster than full (CLI)": _target(
                "incremental",
                TARGET_INCREMENTAL_SPEEDUP,
                speedup,
                speedup is not None and speedup >= TARGET_INCREMENTAL_SPEEDUP,
            ),
            f"peak memory ≤ 1 GiB (at {legacy_rows:,} rows)": _target(
                "memory", TARGET_PEAK_MB, peak or None, 0 < peak <= TARGET_PEAK_MB
            ),
        },
        "scaling_measured": bool(scaled),
    }


def _cell(value: object, fmt: str = "{:,.1f}") -> str:
    return fmt.format(value) if isinstance(value, int | float) else "—"


def _step_lines(summary: Mapping[str, Mapping[str, object]]) -> list[str]:
    lines = [
        "| step | rows | copied | dropped | altered | median s | min-max s | rows/s"
        " | work s | work rows/s | CPU s tree / PG / machine | CPU÷wall ours / machine"
        " | peak RSS MiB | ok |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for step, text in STEPS.items():
        s = summary.get(step)
        if not s:
            continue
        cpu = " / ".join(
            _cell(s.get(k))
            for k in (
                "cpu_seconds_median",
                "server_cpu_seconds_median",
                "machine_cpu_seconds_median",
            )
        )
        per_wall = (
            f"{_cell(s.get('cpu_per_wall'), '{}')} / {_cell(s.get('machine_cpu_per_wall'), '{}')}"
        )
        lines.append(
            f"| {text} | {_cell(s['rows'], '{:,}')} | {_cell(s.get('copied_rows'), '{:,}')}"
            f" | {_cell(s.get('dropped_rows'), '{:,}')} | {_cell(s.get('altered_rows'), '{:,}')}"
            f" | {_cell(s['seconds_median'])} |"
            f" {_cell(s['seconds_min'])}-{_cell(s['seconds_max'])} |"
            f" {_cell(s['rows_per_second'], '{:,}')} |"
            f" {_cell(s.get('work_seconds_median'))} |"
            f" {_cell(s.get('work_rows_per_second'), '{:,}')} | {cpu} | {per_wall}"
            f" | {_cell(s['peak_rss_mb_max'], '{:,.0f}')} | {'yes' if s['all_ok'] else 'NO'} |"
        )
    return lines


def stages_markdown(stages: Mapping[str, object]) -> list[str]:
    """Where the in-process full migration's time went."""
    wall = stages["wall_seconds"]
    per = stages["stages"]
    assert isinstance(wall, float | int) and isinstance(per, dict)
    parts = stages["parts_reported"]
    lines = [
        f"Per stage (in-process full migration, {_cell(wall)} s of work, {stages['steps']}"
        f" steps; `seconds_*` parts the loads reported: {', '.join(parts) or 'none'}):",  # type: ignore[arg-type]
        "",
        "| stage | seconds | share |",
        "|---|---:|---:|",
    ]
    names = [*STAGES, *(n for n in per if n not in STAGES)]
    for name in names:
        seconds = per.get(name, 0.0)
        share = f"{seconds / wall:.0%}" if wall else "—"
        lines.append(f"| {name} | {_cell(seconds)} | {share} |")
    return lines


def scaling_markdown(scaled: Sequence[Mapping[str, object]]) -> str:
    """The scaling table (in-process full migration per scale)."""
    lines = [
        "Scaling (full migration in process, one run per scale; in `make bench` 1x is the"
        " median repetition of the table above):",
        "",
        "| scale | legacy rows | wall s | work s | work rows/s | CPU÷wall machine"
        " | peak RSS MiB | MiB per 100k rows |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in scaled:
        rows = m["legacy_rows"]
        peak = m["peak_rss_mb"]
        assert isinstance(rows, int) and isinstance(peak, int | float)
        lines.append(
            f"| {m['scale']:g} ({m['factor']:g}x) | {rows:,} | {_cell(m['seconds'])}"
            f" | {_cell(m['work_seconds'])} | {_cell(m['work_rows_per_second'], '{:,}')}"
            f" | {_cell(m['machine_cpu_per_wall'], '{}')} | {peak:,.0f}"
            f" | {peak / rows * 100_000:,.1f} |"
        )
    return "\n".join(lines)


def _sum(per: Mapping[str, object], names: Sequence[str]) -> float:
    return sum(float(v) for n in names if isinstance(v := per.get(n), int | float))


def what_is_left(
    summary: Mapping[str, Mapping[str, object]],
    stages: Mapping[str, object] | None,
    targets: Mapping[str, Mapping[str, object]],
) -> list[str]:
    """For each target not met: how far off it is and where the rest of the time goes.

    Computed from this run's own figures only: the budget the target allows, the measured
    value, and the parts of the run that fill it (the per-stage table, the floors, the CPU of
    the process tree and of the server, the incremental command's start-up).
    """
    by_key = {t["key"]: t for t in targets.values()}
    met = {key: bool(t["met"]) for key, t in by_key.items()}
    f = Figures.of(summary)
    full, work, pgl, floor, schema = f.full, f.work, f.pgl, f.floor, f.schema
    rows = _get(summary, "full_in_process", "rows")
    per = stages.get("stages") if stages else None
    lines: list[str] = []
    split = ""
    if isinstance(per, dict) and work:
        own, copy = _sum(per, OWN_STAGES), _sum(per, COPY_STAGES)
        rest = work - own - copy
        split = (
            f" Of the work's {work:.1f} s, the rules and checks no peer runs ("
            f"{', '.join(OWN_STAGES)}) take {own:.1f} s"
            + (
                f", {own / pgl:.1f}x pgloader's whole copy on their own (the target allows"
                f" {TARGET_CLI_VS_PGLOADER:g}x for everything)"
                if pgl
                else ""
            )
            + f"; reading and writing ({', '.join(COPY_STAGES)}) {copy:.1f} s"
            + (f" against pgloader's {pgl:.1f} s" if pgl else "")
            + (f" and the schema floor's {schema:.1f} s" if schema else "")
            + f"; Dagster and the rest {rest:.1f} s."
        )
    if not met["cli"] and full and pgl:
        budget = TARGET_CLI_VS_PGLOADER * pgl
        lines.append(
            f"- CLI wall: the target allows {budget:.1f} s ({TARGET_CLI_VS_PGLOADER:g} x"
            f" {pgl:.1f} s), the run took {full:.1f} s, {full - budget:.1f} s more.{split}"
        )
    if not met["rate"] and work and rows:
        budget = rows / TARGET_ROWS_PER_SECOND
        floors = (schema or 0.0) + (floor or 0.0)
        lines.append(
            f"- rows/s: {rows:,.0f} rows at {TARGET_ROWS_PER_SECOND:,} rows/s allow"
            f" {budget:.1f} s of work, it took {work:.1f} s, {work - budget:.1f} s more;"
            f" the COPY floor and the schema floor alone take {floors:.1f} s"
            f" ({floors / budget:.0%} of that budget)"
            + (
                f", and pgloader's raw copy ran at {rows / pgl:,.0f} rows/s on this machine"
                f" ({TARGET_ROWS_PER_SECOND / (rows / pgl):.0%} of it is the target)"
                if pgl
                else ""
            )
            + "."
            + (split if met["cli"] else "")
        )
    run = summary.get("full_in_process", {})
    wall = _get(summary, "full_in_process", "seconds_median")
    tree, server = run.get("cpu_seconds_median"), run.get("server_cpu_seconds_median")
    if not met["cpu"] and wall and isinstance(tree, float) and isinstance(server, float):
        lines.append(
            f"- CPU ÷ wall: over the in-process run's {wall:.1f} s the Python process tree used"
            f" {tree:.1f} CPU s ({tree / wall:.2f} of a core) and the PostgreSQL server"
            f" {server:.1f} s ({server / wall:.2f}); the steps run one after another in one"
            f" process, so the second core works only while the server does. At this Python"
            f" share, {TARGET_CPU_PER_WALL:g} cores need"
            f" {TARGET_CPU_PER_WALL * wall - tree:.1f} s of server CPU"
            f" (or Python's work spread over processes)."
        )
    incremental, incremental_work = f.incremental, f.incremental_work
    if not met["incremental"] and full and incremental:
        budget = full / TARGET_INCREMENTAL_SPEEDUP
        text = (
            f"- incremental: {TARGET_INCREMENTAL_SPEEDUP:g}x faster than the full {full:.1f} s"
            f" allows {budget:.1f} s, the sync took {incremental:.1f} s"
        )
        if incremental_work is not None:
            start = incremental - incremental_work
            text += (
                f": {start:.1f} s the command's start (imports, the definitions, launching the"
                f" run; {start / budget:.0%} of the budget on its own) and {incremental_work:.1f}"
                f" s of work, which reloads and re-checks each changed partition whole"
            )
        lines.append(text + ".")
    peak = by_key["memory"]["measured"]
    if not met["memory"] and isinstance(peak, int | float):
        lines.append(
            f"- memory: peak {peak:,.0f} MiB, {peak - TARGET_PEAK_MB:,.0f} MiB over"
            f" {TARGET_PEAK_MB:,} MiB."
        )
    if not lines:
        return []
    return ["", "What is left, per target not met (from this run's own figures):", "", *lines]


def _where_the_time_is(stages: Mapping[str, object] | None) -> list[str]:
    if not stages:
        return []
    per = stages["stages"]
    wall = stages["wall_seconds"]
    assert isinstance(per, dict) and isinstance(wall, int | float)
    top = sorted(per.items(), key=lambda kv: kv[1], reverse=True)[:4]
    listed = ", ".join(
        f"{name} {seconds:.1f} s ({seconds / wall:.0%})" for name, seconds in top if seconds
    )
    return ["", f"Where the time is (the per-stage table above): {listed}."]


def markdown(result: Mapping[str, object]) -> str:
    """The results as Markdown: environment, the tables, the ratios and targets, notes."""
    env = result["environment"]
    assert isinstance(env, dict)
    summary = result["steps"]
    assert isinstance(summary, dict)
    lines = [
        f"# Benchmark: {result['legacy_rows']:,} legacy rows (demo scale {result['scale']:g}),"
        f" {result['repetitions']} repetition(s)",
        "",
        f"{env['when']} · {env['cores']} cores · {env['memory_gib']:.1f} GiB · PostgreSQL"
        f" {env['postgresql']} · {env['pgloader']} · sling {env['sling']} · dlt {env['dlt']}"
        f" · Python {env['python']} · Dagster {env['dagster']} · commit {env['commit']}"
        f" · load average before {env['load_before']}, after {env['load_after']}",
        "",
        *_step_lines(summary),
    ]
    stages = result.get("stages")
    if isinstance(stages, dict):
        lines += ["", *stages_markdown(stages)]
    scaled = result.get("scaling")
    if scaled:
        lines += ["", scaling_markdown(scaled)]  # type: ignore[arg-type]
    r = result["ratios"]
    assert isinstance(r, dict)
    lines += [
        "",
        "Ratios (medians):",
        "",
        "- full migration (CLI) / pgloader (all text):"
        f" **{_cell(r['full_cli_vs_pgloader'], '{}')}x** its wall time; the work alone (in"
        f" process): {_cell(r['full_work_vs_pgloader'], '{}')}x",
        f"- work / COPY floor: {_cell(r['full_work_vs_copy_floor'], '{}')}x; work / schema floor:"
        f" {_cell(r['full_work_vs_schema_floor'], '{}')}x; pgloader / COPY floor:"
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
            f"- {name}: measured {_cell(t['measured'], '{:,}')} (target {t['target']:,})"
            f" — **{'met' if t['met'] else 'not met'}**"
        )
    run = summary.get("full_in_process", {})
    ours, machine = run.get("cpu_per_wall"), run.get("machine_cpu_per_wall")
    if isinstance(ours, float) and isinstance(machine, float) and machine - ours > 0.3:
        lines.append(
            f"- (CPU: the machine was busier than this run — its process tree and the PostgreSQL"
            f" server used {ours} of the cores, the machine {machine}: other work ran beside it)"
        )
    if not all(t["met"] for t in targets.values()):
        lines += _where_the_time_is(stages if isinstance(stages, dict) else None)
        lines += what_is_left(summary, stages if isinstance(stages, dict) else None, targets)
    notes = result.get("notes")
    if notes:
        lines += ["", "Notes:", "", *(f"- {n}" for n in notes)]  # type: ignore[union-attr]
    return "\n".join(lines) + "\n"


def write(result: Mapping[str, object], directory: Path, name: str = "latest") -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}.json"
    md_path = directory / f"{name}.md"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(result))
    return json_path, md_path
