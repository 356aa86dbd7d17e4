"""The README's "Running the migration" commands, run as written (a failing one is a bug).

The section's code block and every `dg …` / `dagster job execute …` command quoted in its text
are taken from README.md itself and run with bash in the repository, through
``docker/with-env.sh`` as shown, on a fresh Dagster instance (the project's ``dagster.yaml``,
storage in PostgreSQL), a fresh target database and a copy of the demo source. No partition
tags anywhere: ``dg launch --job full_migration`` migrates every partition and the
reconciliation holds; after a new year appears in the source, the tag-less ``dagster job
execute`` form picks it up. ``dg launch`` prints no Dagster warning.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pytest

from kgv_assets.legacy.catalogue import TABLES, table
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets_tests.conftest import ROOT, dagster_env

pytestmark = pytest.mark.slow

SECTION = "## Running the migration"


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def block_commands(section: str) -> list[str]:
    """The commands of the section's first ```bash block (comments dropped)."""
    body = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert body, "no bash block"
    joined = body.group(1).replace("\\\n", " ")
    return [re.sub(r"\s+#\s.*$", "", line).strip() for line in joined.splitlines() if line.strip()]


def quoted_commands(section: str) -> list[str]:
    """The `dg …` and `dagster job execute …` commands quoted in the section's text."""
    prose = re.sub(r"```.*?```", "", section, flags=re.DOTALL)
    spans = (" ".join(s.split()) for s in re.findall(r"`([^`]+)`", prose))
    return [s for s in spans if s.startswith(("dg ", "dagster job execute "))]


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    if not command.startswith("docker/with-env.sh"):
        command = f"docker/with-env.sh {command}"
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


def _staged_per_partition(url: str, name: str) -> dict[str, int]:
    """Legacy rows per partition as the last staging loads recorded them (empty ones left out)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT partition, source_rows FROM migration.reconciliation"
            " WHERE source_table = %s AND stage = 'staging' AND source_rows > 0",
            (name,),
        ).fetchall()
    return dict(rows)


def test_the_readme_runs_as_written(pg_url: str, demo_source: Path, tmp_path: Path) -> None:
    section = _section()
    block, quoted = block_commands(section), quoted_commands(section)
    assert any("dg launch --job full_migration" == c.split("  ")[0].removeprefix(
        "docker/with-env.sh ") for c in block), block  # fmt: skip
    assert "dagster job execute -m kgv_assets.definitions -j full_migration" in quoted
    source_file = tmp_path / "source.sqlite"
    shutil.copy(demo_source, source_file)
    source_url = f"sqlite:///{source_file}"
    env = dagster_env(tmp_path / "home", pg_url, source_url)
    env.pop("KGV_SOURCE_SCHEMA")  # optional: the defaults must work
    env["VIRTUAL_ENV"] = str(ROOT / ".venv")

    for command in block:
        done = _run(command, env)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        if " dg " in f" {command} ":
            assert "Warning" not in done.stdout + done.stderr, command
    source = LegacySourceResource(url=source_url)
    for t in TABLES:  # every partition of every table, accounted for
        assert _staged_per_partition(pg_url, t.name) == source.partition_counts(t), t.name
    report = _run("kgv report", env)
    assert report.returncode == 0 and "verdict: PASS" in report.stdout, report.stdout[-2000:]

    with sqlite3.connect(source_file) as db:  # a new year appears in the source
        db.execute(
            "UPDATE Verlauf SET verl_Datum = '2031-03-04 05:06:07.000' WHERE verl_ID ="
            " (SELECT min(verl_ID) FROM Verlauf)"
        )
    assert "2031" in source.partition_counts(table("Verlauf"))
    for command in quoted:
        done = _run(command, env)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        if command.startswith("dg "):
            assert "Warning" not in done.stdout + done.stderr, command
    for t in TABLES:
        assert _staged_per_partition(pg_url, t.name) == source.partition_counts(t), t.name
