"""Profile the full migration in process: ``python -m bench.profile`` (``make bench-profile``).

Runs ``bench.inprocess full`` under pyinstrument in a fresh database, then writes
``bench/results/profile.txt`` (pyinstrument's call tree of the whole run) and
``bench/results/profile.md``: the run's slowest Dagster steps (from the instance) and the
slowest functions of this project (their total time in the tree, callers included). What to
optimise next is read from these, not guessed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import click
import dagster as dg

from bench.databases import fresh_database
from bench.measure import run
from bench.source import row_counts, source_path
from bench.steps import ROOT, StepFailed, dagster_env

RESULTS = ROOT / "bench" / "results"
# "│  ├─ 22.743 parse_phone  kgv_assets/transform/phones.py:37"
_NODE = re.compile(r"(?P<seconds>[0-9]+\.[0-9]+) (?P<name>\S+)\s+(?P<where>kgv_assets/\S+)")


def project_functions(tree: str, top: int) -> list[tuple[float, str]]:
    """The ``top`` project functions by time (a function's largest node: its calls nest)."""
    seconds: dict[str, float] = defaultdict(float)
    for match in _NODE.finditer(tree):
        where = f"{match['name']}  {match['where']}"
        seconds[where] = max(seconds[where], float(match["seconds"]))
    return sorted(((s, w) for w, s in seconds.items()), reverse=True)[:top]


def slowest_steps(home: Path, top: int) -> list[tuple[float, str]]:
    """The ``top`` steps of the last run on the instance in ``home``, by duration."""
    instance = dg.DagsterInstance.from_config(str(home))
    runs = instance.get_runs(limit=1)
    stats = instance.get_run_step_stats(runs[0].run_id) if runs else []
    steps = [((s.end_time or 0) - (s.start_time or 0), s.step_key) for s in stats if s.start_time]
    return sorted(steps, reverse=True)[:top]


@click.command()
@click.option("--scale", type=float, default=4.5, show_default=True, help="4.5 ≈ 1M legacy rows")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--top", type=int, default=15, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS,
    show_default=True,
    help="where profile.txt and profile.md go",
)
def main(scale: float, seed: int, top: int, out: Path) -> None:
    """Profile one in-process full migration and write the top items."""
    sources = RESULTS / "tmp"
    sources.mkdir(parents=True, exist_ok=True)
    source = source_path(sources, scale, seed)
    rows = sum(row_counts(source).values())
    out.mkdir(parents=True, exist_ok=True)
    tree_file = out / "profile.txt"
    with tempfile.TemporaryDirectory(dir=sources, prefix="profile_") as work:
        home = Path(work) / "home"
        with fresh_database("profile") as pg_url:
            env = dagster_env(pg_url, source, home)
            command = [sys.executable, "-m", "pyinstrument", "--renderer", "text"]
            command += ["-o", str(tree_file), "-m", "bench.inprocess", "full"]
            m = run(command, env, ROOT)
            if m.returncode != 0:
                raise StepFailed(f"profiled run exited with {m.returncode}:\n{m.stderr[-3000:]}")
            os.environ["KGV_PG_URL"] = os.environ["KGV_DAGSTER_PG_URL"] = pg_url  # the storage
            steps = slowest_steps(home, top)
    functions = project_functions(tree_file.read_text(), top)
    lines = [
        f"# Profile: full migration in process, {rows:,} legacy rows (demo scale {scale:g})",
        "",
        f"pyinstrument, {m.seconds:.1f} s wall under the profiler (whole call tree:"
        " `profile.txt`). Regenerate with `make bench-profile`.",
        "",
        "## Slowest Dagster steps",
        "",
        "| seconds | step |",
        "|---:|---|",
        *(f"| {s:.1f} | `{k}` |" for s, k in steps),
        "",
        "## Slowest functions of this project (time including what they call)",
        "",
        "| seconds | function |",
        "|---:|---|",
        *(f"| {s:.1f} | `{w}` |" for s, w in functions),
        "",
    ]
    (out / "profile.md").write_text("\n".join(lines))
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
