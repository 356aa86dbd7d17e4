"""The benchmark driver: ``python -m bench.run --scale 4.5 --reps 3`` (``make bench``).

For a demo source of the given scale (4.5 ≈ 1M legacy rows), each repetition runs, every time
in a fresh database: the full migration as users run it (``dagster job execute``), then 1 % of
the rows changed in one year, a sensor tick and the incremental sync on that migrated database;
the same full migration in process; pgloader (all columns as text, and with its defaults); and
the bare COPY floor. It prints one table and writes ``bench/results/latest.json`` and ``.md``.

``--memory`` instead runs the full migration once at 0.25x, 1x and 4x the scale and writes
``bench/results/memory.json`` and ``.md`` (peak memory of the process tree per scale).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import click

from bench import report
from bench.databases import server_version
from bench.source import row_counts, source_path
from bench.steps import (
    ROOT,
    StepResult,
    copy_floor,
    full_cli_then_incremental,
    full_in_process,
    pgloader,
)

RESULTS = ROOT / "bench" / "results"
MEMORY_FACTORS = (0.25, 1.0, 4.0)


def _command_output(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    except FileNotFoundError:
        return "not installed"
    if out.returncode != 0:
        return "?"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else ""


def environment() -> dict[str, object]:
    """What the numbers depend on: the machine, the versions, how busy it was."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"]) != ""
    commit = _command_output(["git", "rev-parse", "--short", "HEAD"])
    return {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "memory_gib": pages / 2**30,
        "postgresql": server_version(),
        "pgloader": _command_output(["pgloader", "--version"]),
        "python": platform.python_version(),
        "dagster": version("dagster"),
        "commit": commit + (" (+ uncommitted changes)" if dirty else ""),
        "load_before": f"{os.getloadavg()[0]:.2f}",
    }


def _log(message: str) -> None:
    click.echo(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", err=True)


def _timed(
    name: str, collected: dict[str, list[StepResult]], step: Callable[[], StepResult]
) -> None:
    result = step()
    collected.setdefault(name, []).append(result)
    _log(f"{name}: {result.seconds:.1f} s, peak {result.peak_rss_mb:.0f} MiB, ok={result.ok}")


def benchmark(
    scale: float, reps: int, seed: int, sources: Path, scratch: Path
) -> dict[str, object]:
    """All steps, ``reps`` times, on the demo source of ``scale`` (scratch: per-run files)."""
    if shutil.which("pgloader") is None:
        raise click.ClickException(
            "pgloader is not installed: docker/install-system-packages.sh bench (make bench does)"
        )
    env = environment()
    source = source_path(sources, scale, seed)
    counts = row_counts(source)
    rows = sum(counts.values())
    _log(f"source {source.name}: {rows:,} legacy rows")
    collected: dict[str, list[StepResult]] = {}
    for rep in range(1, reps + 1):
        _log(f"repetition {rep}/{reps}")
        for name, result in full_cli_then_incremental(source, scratch, rows, rep).items():
            collected.setdefault(name, []).append(result)
            _log(f"{name}: {result.seconds:.1f} s, peak {result.peak_rss_mb:.0f} MiB")
        _timed(
            "full_in_process",
            collected,
            lambda rep=rep: full_in_process(source, scratch, rows, rep),  # type: ignore[misc]
        )
        _timed("pgloader_text", collected, lambda: pgloader(source, scratch, rows, all_text=True))
        _timed(
            "pgloader_defaults", collected, lambda: pgloader(source, scratch, rows, all_text=False)
        )
        _timed("copy_floor", collected, lambda: copy_floor(source, rows))
    env["load_after"] = f"{os.getloadavg()[0]:.2f}"
    steps = {name: report.summarise(results) for name, results in collected.items()}
    return {
        "scale": scale,
        "seed": seed,
        "repetitions": reps,
        "legacy_rows": rows,
        "legacy_rows_per_table": counts,
        "environment": env,
        "steps": steps,
        "ratios": report.ratios(steps),
        "runs": {name: [r.as_dict() for r in results] for name, results in collected.items()},
        "notes": [
            "rows/s: legacy rows of the whole source per second of the step's wall clock; "
            "work rows/s: per second of the in-process clock around the job alone.",
            "peak RSS: the largest sum over the process tree of the command (sampled every "
            "50 ms); the PostgreSQL server's own processes are not included.",
            "pgloader needs a cast for the SQL Server type uniqueidentifier to create its tables "
            "at all; with its defaults otherwise it drops every batch holding a value its types "
            "reject (rows column), so the all-text run is the like-for-like raw copy.",
            "incremental: 1 % of all legacy rows changed in the busiest year (Antrag and "
            "Verlauf), then one legacy_changes_sensor evaluation and the incremental_migration "
            "job on the database the CLI run migrated.",
        ],
    }


def memory_scaling(scale: float, seed: int, sources: Path, scratch: Path) -> dict[str, object]:
    """Peak memory of one full migration (CLI) at 0.25x, 1x and 4x ``scale``."""
    env = environment()
    measured = []
    for factor in MEMORY_FACTORS:
        size = scale * factor
        source = source_path(sources, size, seed)
        rows = sum(row_counts(source).values())
        _log(f"memory: scale {size:g}, {rows:,} legacy rows")
        result = full_cli_then_incremental(source, scratch, rows, 0, incremental=False)["full_cli"]
        _log(f"scale {size:g}: {result.seconds:.1f} s, peak {result.peak_rss_mb:.0f} MiB")
        measured.append(
            {
                "scale": size,
                "legacy_rows": rows,
                "seconds": result.seconds,
                "peak_rss_mb": result.peak_rss_mb,
                "ok": result.ok,
            }
        )
    env["load_after"] = f"{os.getloadavg()[0]:.2f}"
    return {"scale": scale, "seed": seed, "environment": env, "memory": measured}


@click.command()
@click.option("--scale", type=float, default=4.5, show_default=True, help="4.5 ≈ 1M legacy rows")
@click.option("--reps", type=int, default=3, show_default=True, help="repetitions of every step")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS,
    show_default=True,
    help="where latest.json/.md (or memory.json/.md) go",
)
@click.option("--memory", is_flag=True, help="memory scaling at 0.25x, 1x, 4x the scale instead")
def main(scale: float, reps: int, seed: int, out: Path, memory: bool) -> None:
    """Benchmark the full migration against pgloader and the COPY floor, and the sync."""
    sources = RESULTS / "tmp"  # generated sources are kept for the next run (git ignores it)
    sources.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=sources, prefix="run_") as work:
        path, text = _run(scale, reps, seed, out, memory, sources, Path(work))
    click.echo(text, nl=False)
    _log(f"written: {path} (and .md)")


def _run(
    scale: float, reps: int, seed: int, out: Path, memory: bool, sources: Path, work: Path
) -> tuple[Path, str]:
    """Run the benchmark (or the memory scaling), write the results; return the file and text."""
    if memory:
        result = memory_scaling(scale, seed, sources, work)
        path = out / "memory.json"
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        text = report.memory_markdown(result["memory"]) + "\n"  # type: ignore[arg-type]
        (out / "memory.md").write_text(text)
    else:
        result = benchmark(scale, reps, seed, sources, work)
        path, _ = report.write(result, out)
        text = report.markdown(result)
    return path, text


if __name__ == "__main__":
    main()
