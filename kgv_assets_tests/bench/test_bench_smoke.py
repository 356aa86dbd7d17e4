"""The benchmark driver end to end at a tiny scale: the steps run and the results are written.

``python -m bench.run --scale 0.005 --reps 1 --skip-scaling --steps …`` as ``make bench`` runs
it (real PostgreSQL, the in-process full migration, the schema floor, pgloader, sling, dlt, the
COPY floor), leaving out only the slow command-line run and the sync. Asserts that the table,
the JSON and the Markdown hold every step, and that the rows are counted honestly: what the
peers did to the rows holding a NUL byte (counted in the source here) and the migration's own
accounting. The speed itself is measured by ``make bench``, never by a test.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fidelity import text_columns
from bench.source import source_path
from bench.stages import STAGES
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets_tests.conftest import ROOT, SERVER_URL

pytestmark = pytest.mark.slow
SCALE = 0.005
STEPS = [
    "full_in_process",
    "schema_floor",
    "copy_floor",
    "pgloader_text",
    "pgloader_defaults",
    "sling",
    "dlt",
]


def _rows_with_nul(source: Path) -> dict[str, int]:
    """Per legacy table: rows with a NUL byte in a text column, counted by SQLite itself."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as db:
        return {
            t.name: db.execute(
                f'SELECT count(*) FROM "{t.name}" WHERE '
                + " OR ".join(f'instr("{c}", char(0)) > 0' for c in text_columns(t))
            ).fetchone()[0]
            for t in TABLES
        }


def test_tiny_benchmark_counts_what_the_peers_did(tmp_path: Path) -> None:
    env = {**os.environ, "KGV_PG_URL": SERVER_URL}
    command = [sys.executable, "-m", "bench.run", "--scale", str(SCALE), "--reps", "1"]
    command += ["--skip-scaling", "--steps", ",".join(STEPS), "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    result = json.loads((tmp_path / "latest.json").read_text())
    assert set(result["steps"]) == set(STEPS)
    rows = sum(result["legacy_rows_per_table"].values())
    assert rows == result["legacy_rows"] > 0
    for name, step in result["steps"].items():
        assert step["all_ok"], name
        assert step["repetitions"] == 1 and step["seconds_median"] > 0, name
        assert step["peak_rss_mb_max"] > 0, name

    # the migration accounts for every legacy row: nothing dropped or altered unnoticed
    ours = result["steps"]["full_in_process"]
    assert (ours["copied_rows"], ours["dropped_rows"], ours["altered_rows"]) == (rows, 0, 0)
    # the schema floor loaded exactly the rows the migration wrote into the target
    target_rows = result["runs"]["full_in_process"][0]["detail"]["target_rows"]
    assert result["steps"]["schema_floor"]["rows"] == target_rows > 0

    nul = _rows_with_nul(source_path(ROOT / "bench" / "results" / "tmp", SCALE, 42))
    assert sum(nul.values()) > 0, "the demo dirt holds NUL bytes"
    for peer in ("pgloader_text", "sling"):  # every row copied, those with NUL altered
        step = result["steps"][peer]
        assert (step["copied_rows"], step["dropped_rows"]) == (rows, 0), peer
        tables = {t["table"]: t for t in result["runs"][peer][0]["detail"]["tables"]}
        assert {n: t["altered_rows"] for n, t in tables.items()} == nul, peer
    dlt = result["steps"]["dlt"]
    assert (dlt["copied_rows"], dlt["dropped_rows"]) == (rows, 0)
    assert dlt["altered_rows"] >= sum(nul.values())
    defaults = result["steps"]["pgloader_defaults"]  # drops the batches its types reject
    assert 0 < defaults["dropped_rows"] == rows - defaults["copied_rows"]

    profile = result["stages"]
    assert set(STAGES) <= set(profile["stages"])
    assert all(seconds >= 0 for seconds in profile["stages"].values())
    assert profile["stages"]["checks"] > 0 and profile["stages"]["report"] > 0
    assert set(result["ratios"]["targets"]) and result["scaling"] is None

    markdown = (tmp_path / "latest.md").read_text()
    assert markdown == done.stdout, "the printed table is the Markdown written"
    table = [line for line in markdown.split("\n\n")[2].splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(STEPS), "a header and one row per step"
    assert "| Dagster overhead |" in markdown and "Targets:" in markdown


def test_tiny_profile_names_the_steps_and_the_project_functions(tmp_path: Path) -> None:
    env = {**os.environ, "KGV_PG_URL": SERVER_URL}
    command = [sys.executable, "-m", "bench.profile", "--scale", "0.005", "--top", "5"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "kgv_assets/" in (tmp_path / "profile.txt").read_text()
    text = (tmp_path / "profile.md").read_text()
    steps, functions = text.split("## Slowest functions")
    assert len([line for line in steps.splitlines() if line.startswith("| ") and "`" in line]) == 5
    assert "`legacy__" in steps or "`kgv__" in steps
    rows = [line for line in functions.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 5 and all("kgv_assets/" in row for row in rows)
