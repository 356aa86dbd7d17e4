"""The benchmark driver end to end at a tiny scale: every step runs and the results are written.

``python -m bench.run --scale 0.005 --reps 1`` as ``make bench`` runs it (real PostgreSQL, the
real ``dagster job execute``, pgloader, the COPY floor, a sensor tick and the incremental sync).
Asserts only that the table, the JSON and the Markdown hold every step with plausible numbers:
the speed itself is measured by ``make bench``, never by a test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kgv_assets_tests.conftest import ROOT, SERVER_URL

pytestmark = pytest.mark.slow
STEPS = {
    "full_cli",
    "full_in_process",
    "pgloader_text",
    "pgloader_defaults",
    "copy_floor",
    "sensor_tick",
    "incremental",
}


def test_tiny_benchmark_writes_every_step(tmp_path: Path) -> None:
    env = {**os.environ, "KGV_PG_URL": SERVER_URL}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "0.005", "--reps", "1", "--out", tmp_path],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    result = json.loads((tmp_path / "latest.json").read_text())
    assert set(result["steps"]) == STEPS
    rows = sum(result["legacy_rows_per_table"].values())
    assert rows == result["legacy_rows"] > 0
    for name, step in result["steps"].items():
        assert step["all_ok"], name
        assert step["repetitions"] == 1 and step["seconds_median"] > 0, name
        assert step["peak_rss_mb_max"] > 0, name
    for name in ("full_cli", "full_in_process", "pgloader_text", "copy_floor"):
        assert result["steps"][name]["rows"] == rows, name
    assert 0 < result["steps"]["incremental"]["rows"] < rows
    assert result["runs"]["sensor_tick"][0]["detail"]["run_requests"] > 0
    assert result["ratios"]["full_cli_vs_pgloader"] > 0
    env_info = result["environment"]
    assert env_info["cores"] >= 1 and env_info["postgresql"] and "pgloader" in env_info["pgloader"]

    markdown = (tmp_path / "latest.md").read_text()
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(STEPS), "a header and one row per step"
    assert markdown == done.stdout, "the printed table is the Markdown written"


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
