"""The benchmark driver: ``python -m bench.run --scale 4.5 --reps 3`` (``make bench``).

For a demo source of the given scale (4.5 ≈ 1M legacy rows), each repetition runs, every time
in a fresh database:

- the full migration as users run it (``dagster job execute``), then 1 % of the rows changed in
  one year, a sensor tick and the incremental sync on that migrated database;
- the same full migration in process, with where its time went per stage (``bench.stages``);
- the peers (``bench.peers``): pgloader (all columns as text, and its defaults), sling and dlt,
  each compared with the source table by table (rows copied, dropped, altered:
  ``bench.fidelity``);
- the floors: the bare COPY of the source rows (``bench.floor``) and the schema floor, the
  migrated target rows bulk-loaded into the target DDL (``bench.schema_floor``).

Then (unless ``--skip-scaling``) the in-process full migration once more at 0.25x and 4x the
scale (1x is the repetitions above). It prints one table and writes
``bench/results/latest.json`` and ``.md``; the targets are judged in ``bench.report``.

``--memory`` runs only the scaling, at 0.25x, 1x and 4x, and writes ``bench/results/memory.json``
and ``.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Collection
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click

from bench import fidelity, peers, report
from bench.databases import server_pid, server_version
from bench.source import row_counts, source_path
from bench.steps import (
    ROOT,
    StepResult,
    copy_floor,
    full_cli_then_incremental,
    full_in_process,
    target_floor,
)

RESULTS = ROOT / "bench" / "results"
SCALING_FACTORS = (0.25, 1.0, 4.0)
STEPS = (
    "full_cli",
    "full_in_process",
    "schema_floor",
    "copy_floor",
    "pgloader_text",
    "pgloader_defaults",
    "sling",
    "dlt",
)


def _command_output(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    except FileNotFoundError:
        return "not installed"
    if out.returncode != 0:
        return "?"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else ""


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


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
        "postgresql_server_cpu_measured": server_pid() is not None,
        "pgloader": _command_output(["pgloader", "--version"]),
        "sling": _version("sling-linux-amd64"),
        "dlt": _version("dlt"),
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


def scaling(
    scale: float,
    seed: int,
    sources: Path,
    scratch: Path,
    done: StepResult | None = None,
) -> list[dict[str, object]]:
    """The in-process full migration at 0.25x, 1x and 4x ``scale`` (1x reused from ``done``)."""
    measured = []
    for factor in SCALING_FACTORS:
        size = scale * factor
        source = source_path(sources, size, seed)
        counts = row_counts(source)
        if factor == 1.0 and done is not None:
            result = done
        else:
            _log(f"scaling: scale {size:g}, {sum(counts.values()):,} legacy rows")
            result = full_in_process(source, scratch, counts, 0)
            _log(f"scale {size:g}: {result.seconds:.1f} s, peak {result.peak_rss_mb:.0f} MiB")
        measured.append(report.scaling_row(size, factor, sum(counts.values()), result))
    return measured


def benchmark(
    scale: float,
    reps: int,
    seed: int,
    sources: Path,
    scratch: Path,
    with_scaling: bool,
    steps: Collection[str] = STEPS,
) -> dict[str, object]:
    """The ``steps``, ``reps`` times, on the demo source of ``scale`` (scratch: per-run files).

    ``full_cli`` brings the sensor tick and the incremental sync with it; ``schema_floor`` needs
    ``full_in_process`` (whose migrated rows it loads).
    """
    if "schema_floor" in steps and "full_in_process" not in steps:
        raise click.ClickException("the schema floor loads what full_in_process migrated")
    if shutil.which("pgloader") is None:
        raise click.ClickException(
            "pgloader is not installed: docker/install-system-packages.sh bench (make bench does)"
        )
    env = environment()
    source = source_path(sources, scale, seed)
    counts = row_counts(source)
    rows = sum(counts.values())
    _log(f"source {source.name}: {rows:,} legacy rows")
    hashes = fidelity.source_hashes(source)  # what the peers' copies are compared with
    dump = scratch / "target_dump"
    collected: dict[str, list[StepResult]] = {}
    for rep in range(1, reps + 1):
        _log(f"repetition {rep}/{reps}")
        if "full_cli" in steps:
            for name, result in full_cli_then_incremental(source, scratch, counts, rep).items():
                collected.setdefault(name, []).append(result)
                _log(f"{name}: {result.seconds:.1f} s, peak {result.peak_rss_mb:.0f} MiB")
        if "full_in_process" in steps:
            with_dump = dump if "schema_floor" in steps else None
            _timed(
                "full_in_process",
                collected,
                lambda rep=rep, d=with_dump: full_in_process(source, scratch, counts, rep, d),  # type: ignore[misc]
            )
        if "schema_floor" in steps:
            target_rows = int(collected["full_in_process"][-1].detail["target_rows"])  # type: ignore[arg-type]
            _timed("schema_floor", collected, lambda n=target_rows: target_floor(dump, n))  # type: ignore[misc]
            shutil.rmtree(dump, ignore_errors=True)
        runs: dict[str, Callable[[], StepResult]] = {
            "copy_floor": lambda: copy_floor(source, rows),
            "pgloader_text": lambda: peers.pgloader(source, scratch, rows, hashes, all_text=True),
            "pgloader_defaults": lambda: peers.pgloader(
                source, scratch, rows, hashes, all_text=False
            ),
            "sling": lambda: peers.sling(source, scratch, rows, hashes),
            "dlt": lambda: peers.dlt(source, scratch, rows, hashes),
        }
        for name, step in runs.items():
            if name in steps:
                _timed(name, collected, step)
    scaled = None
    if with_scaling and "full_in_process" in collected:
        middle = sorted(collected["full_in_process"], key=lambda r: r.seconds)[(reps - 1) // 2]
        scaled = scaling(scale, seed, sources, scratch, middle)
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
        "stages": report.stage_medians(collected.get("full_in_process", [])),
        "scaling": scaled,
        "ratios": report.ratios(steps, rows, scaled),
        "runs": {name: [r.as_dict() for r in results] for name, results in collected.items()},
        "notes": report.NOTES,
    }


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
@click.option("--skip-scaling", is_flag=True, help="no runs at 0.25x and 4x the scale")
@click.option("--memory", is_flag=True, help="only the scaling (0.25x, 1x, 4x), to memory.*")
@click.option(
    "--steps",
    "only",
    default=",".join(STEPS),
    show_default=True,
    help="comma-separated subset (full_cli includes the sensor tick and the incremental sync)",
)
def main(
    scale: float, reps: int, seed: int, out: Path, skip_scaling: bool, memory: bool, only: str
) -> None:
    """Benchmark the full migration against its peers and floors, and the sync."""
    sources = RESULTS / "tmp"  # generated sources are kept for the next run (git ignores it)
    sources.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=sources, prefix="run_") as work:
        if memory:
            result: dict[str, object] = {
                "scale": scale,
                "seed": seed,
                "environment": environment(),
                "scaling": scaling(scale, seed, sources, Path(work)),
            }
            out.mkdir(parents=True, exist_ok=True)
            path = out / "memory.json"
            path.write_text(json.dumps(result, indent=2) + "\n")
            text = report.scaling_markdown(result["scaling"]) + "\n"  # type: ignore[arg-type]
            (out / "memory.md").write_text(text)
        else:
            chosen = [s.strip() for s in only.split(",") if s.strip()]
            unknown = set(chosen) - set(STEPS)
            if unknown:
                raise click.BadParameter(f"unknown steps: {', '.join(sorted(unknown))}")
            result = benchmark(scale, reps, seed, sources, Path(work), not skip_scaling, chosen)
            path, _ = report.write(result, out)
            text = report.markdown(result)
    click.echo(text, nl=False)
    _log(f"written: {path} (and .md)")


if __name__ == "__main__":
    main()
