"""Where the report files go, and writing them.

The folder is, in this order: the ``directory`` given (the report asset's run config),
``$KGV_REPORTS_DIR``, or ``reports/`` in the Dagster instance's home (``$DAGSTER_HOME``). Each
report is written twice: with its time in the name (kept, for the record of sign-off) and as
``migration-report-latest.{html,json}`` (replaced).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kgv_assets.reporting.html import render_html
from kgv_assets.reporting.json_report import dumps
from kgv_assets.reporting.model import MigrationReport

ENV_VAR = "KGV_REPORTS_DIR"


@dataclass(frozen=True)
class ReportFiles:
    """The files one report was written to."""

    html: Path
    json: Path
    latest_html: Path
    latest_json: Path


def report_directory(instance_root: str | Path | None, directory: str | None = None) -> Path:
    """The folder for report files (see the module docstring)."""
    chosen = directory or os.environ.get(ENV_VAR)
    if chosen:
        return Path(chosen)
    if instance_root is None:
        return Path("reports")
    return Path(instance_root) / "reports"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_report(report: MigrationReport, directory: Path) -> ReportFiles:
    """Write the report as HTML and JSON into ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.generated_at.replace(":", "").replace("-", "").replace("+0000", "Z")
    html, data = render_html(report), dumps(report)
    files = ReportFiles(
        directory / f"migration-report-{stamp}.html",
        directory / f"migration-report-{stamp}.json",
        directory / "migration-report-latest.html",
        directory / "migration-report-latest.json",
    )
    for path, text in (
        (files.html, html),
        (files.json, data),
        (files.latest_html, html),
        (files.latest_json, data),
    ):
        _write(path, text)
    return files
