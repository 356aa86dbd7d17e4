"""Before and after in one run: an earlier commit against the working tree, on one source.

``make bench-ab REF=<commit> SCALE=1 REPS=2`` checks ``REF`` out into a temporary worktree
(``git worktree add --detach``, removed afterwards) and runs, for both trees, alternately and
``REPS`` times each, on the same generated source and each in a fresh database:

- ``full``: ``full_migration`` in process (``bench.inprocess full``): the work in seconds, the
  CPU seconds of the process and of the whole machine, peak memory, and where the time went
  per stage as each tree's own ``bench.stages`` reports it;
- ``incremental``: after that full run, 1 % of the rows changed in one year
  (``bench.source.change_one_percent``, on a copy of the source), then the
  ``incremental_migration`` job (``bench.inprocess incremental``).

Both trees run with this tree's virtual environment (the same libraries), their own code
(``PYTHONPATH``) and their own ``docker/with-env.sh`` (the settings each makes, such as
Dagster's event batching); the older tree must have ``bench.inprocess``. Interleaving the
trees spreads whatever else the machine does over both. Prints a table of medians and the ratios
(before ÷ after: above 1 is faster now) and writes ``bench/results/ab.json`` and ``ab.md``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bench.databases import fresh_database
from bench.measure import run
from bench.source import change_one_percent, row_counts, source_path, working_copy
from bench.steps import ROOT, StepFailed, dagster_env

RESULTS = ROOT / "bench" / "results"
# Variables a tree's docker/with-env.sh sets with a default: left for it to set.
TREE_SETTINGS = ("DAGSTER_EVENT_BATCH_SIZE", "MALLOC_ARENA_MAX")
FIGURES = ("work_seconds", "cpu_seconds", "machine_cpu_seconds", "peak_rss_mb")


@contextmanager
def checkout(ref: str, scratch: Path) -> Iterator[Path]:
    """``ref`` checked out into a temporary worktree under ``scratch`` (removed after)."""
    tree = Path(tempfile.mkdtemp(dir=scratch, prefix="ab_tree_"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(tree), ref],
        check=True,
        capture_output=True,
    )
    try:
        yield tree
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )


def _inprocess(tree: Path, mode: str, env: dict[str, str]) -> dict[str, object]:
    """One ``bench.inprocess`` run of ``tree``'s code: its JSON line plus what was measured."""
    # Through the tree's own docker/with-env.sh: each tree runs with the settings it makes
    # (e.g. Dagster's event batching), not with the ones this run inherited.
    own = {k: v for k, v in env.items() if k not in TREE_SETTINGS}
    command = [str(tree / "docker" / "with-env.sh"), sys.executable, "-m", "bench.inprocess", mode]
    m = run(command, {**own, "PYTHONPATH": str(tree)}, tree)
    if m.returncode != 0:
        raise StepFailed(f"{tree.name} {mode} exited {m.returncode}:\n{m.stderr[-3000:]}")
    line = json.loads(next(x for x in reversed(m.stdout.splitlines()) if x.startswith("{")))
    if not line.get("success"):
        raise StepFailed(f"{tree.name} {mode}: the run failed")
    return {
        "work_seconds": float(line["seconds"]),
        "cpu_seconds": m.cpu_seconds,
        "machine_cpu_seconds": m.machine_cpu_seconds,
        "peak_rss_mb": m.peak_rss_mb,
        "stages": (line.get("stages") or {}).get("stages") or {},  # bench.stages.profile
    }


def one_pair(tree: Path, source: Path, scratch: Path, name: str) -> dict[str, dict[str, object]]:
    """The full run and then the incremental sync of one tree, in a fresh database."""
    copy = working_copy(source, scratch, f"ab_{name}")
    try:
        with fresh_database(f"ab_{name}") as pg_url:
            env = dagster_env(pg_url, copy, scratch / f"home_ab_{name}")
            full = _inprocess(tree, "full", env)
            change_one_percent(copy)
            incremental = _inprocess(tree, "incremental", env)
    finally:
        copy.unlink(missing_ok=True)
    return {"full": full, "incremental": incremental}


def _median(runs: list[dict[str, object]], figure: str) -> float | None:
    values = [float(v) for r in runs if isinstance(v := r.get(figure), int | float)]
    return round(statistics.median(values), 2) if values else None


def _stage_medians(runs: list[dict[str, object]]) -> dict[str, float]:
    names = {s for r in runs for s in r["stages"]}  # type: ignore[union-attr]
    return {
        s: round(statistics.median(float(r["stages"].get(s, 0.0)) for r in runs), 2)  # type: ignore[union-attr]
        for s in sorted(names)
    }


def summary(runs: dict[str, list[dict[str, dict[str, object]]]]) -> dict[str, object]:
    """Medians per tree and step, and before ÷ after."""
    out: dict[str, object] = {}
    for step in ("full", "incremental"):
        rows = {}
        for figure in FIGURES:
            before = _median([r[step] for r in runs["before"]], figure)
            after = _median([r[step] for r in runs["after"]], figure)
            ratio = round(before / after, 2) if before and after else None
            rows[figure] = {"before": before, "after": after, "before_over_after": ratio}
        out[step] = rows
    out["full_stages"] = {
        "before": _stage_medians([r["full"] for r in runs["before"]]),
        "after": _stage_medians([r["full"] for r in runs["after"]]),
    }
    return out


def markdown(result: dict[str, object]) -> str:
    """The result as a Markdown page."""
    lines = [
        f"# Before and after: `{result['ref']}` against the working tree",
        "",
        f"One run, {result['legacy_rows']:,} legacy rows (demo scale {result['scale']:g}),"
        f" {result['reps']} repetitions per tree, interleaved; medians. Ratio: before ÷ after.",
        "",
        "| step | figure | before | after | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for step in ("full", "incremental"):
        for figure, row in result["summary"][step].items():  # type: ignore[index]
            lines.append(
                f"| {step} | {figure} | {row['before']} | {row['after']} |"
                f" {row['before_over_after']} |"
            )
    stages = result["summary"]["full_stages"]  # type: ignore[index]
    lines += ["", "Full migration per stage (seconds):", "", "| stage | before | after |"]
    lines.append("|---|---:|---:|")
    for name in sorted(set(stages["before"]) | set(stages["after"])):
        lines.append(
            f"| {name} | {stages['before'].get(name, '—')} | {stages['after'].get(name, '—')} |"
        )
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--ref", required=True, help="the commit to compare the working tree with")
@click.option("--scale", type=float, default=1.0, show_default=True)
@click.option("--reps", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
def main(ref: str, scale: float, reps: int, seed: int) -> None:
    """Run ``ref`` and the working tree side by side and write ab.json / ab.md."""
    scratch = RESULTS / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    source = source_path(scratch, scale, seed)
    runs: dict[str, list[dict[str, dict[str, object]]]] = {"before": [], "after": []}
    with checkout(ref, scratch) as old:
        for rep in range(reps):
            for label, tree in (("before", old), ("after", ROOT)):
                runs[label].append(one_pair(tree, source, scratch, f"{label}{rep}"))
                full = runs[label][-1]["full"]["work_seconds"]
                click.echo(f"{label} rep {rep}: full {full:.1f} s", err=True)
    result = {
        "ref": ref,
        "scale": scale,
        "reps": reps,
        "legacy_rows": sum(row_counts(source).values()),
        "runs": runs,
        "summary": summary(runs),
    }
    (RESULTS / "ab.json").write_text(json.dumps(result, indent=2))
    page = markdown(result)
    (RESULTS / "ab.md").write_text(page)
    click.echo(page)


if __name__ == "__main__":
    main()
