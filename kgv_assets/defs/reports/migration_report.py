"""The migration report (``migration/report``): the sign-off document, as HTML and JSON.

Runs last in ``full_migration`` (it depends on every target asset) and writes the files into
the report folder (see ``kgv_assets.reporting.files``); their paths, the verdict and the key
figures are in the materialization's metadata. The figures and the verdict are computed by
``kgv_assets.reporting``; ``kgv report`` prints the same in the terminal.
"""

from typing import Any

import dagster as dg
from pydantic import Field

from kgv_assets.layout import REPORT_KEY, REPORTING_VIEWS_KEY, TARGET_TABLES
from kgv_assets.reporting.check_results import check_specs
from kgv_assets.reporting.collect import build_report
from kgv_assets.reporting.files import ENV_VAR, report_directory, write_report
from kgv_assets.reporting.model import MigrationReport
from kgv_assets.resources.postgres import PostgresResource

TARGET_ASSETS = [*(t.asset_key for t in TARGET_TABLES), REPORTING_VIEWS_KEY]


class MigrationReportConfig(dg.Config):
    """Where the report files go."""

    directory: str | None = Field(
        default=None,
        description=f"Folder for the report files; default ${ENV_VAR}, else $DAGSTER_HOME/reports",
    )


def _metadata(report: MigrationReport, html: str, json: str) -> dict[str, Any]:
    checks = report.checks
    findings = "\n".join(f"- **{f.level}** {f.text}" for f in report.verdict.findings)
    return {
        "verdict": report.verdict.level,
        "findings": dg.MetadataValue.md(findings),
        "html": dg.MetadataValue.path(html),
        "json": dg.MetadataValue.path(json),
        "rows_source": report.source_rows,
        "rows_loaded": report.loaded_rows,
        "rows_quarantined": report.quarantined_rows,
        "accounting_identities": report.identities_checked,
        "accounting_failures": len(report.accounting_failures),
        "checks": len(checks),
        "checks_passed": sum(c.status == "passed" for c in checks),
        "checks_failed": sum(c.status in ("failed", "execution failed") for c in checks),
        "checks_without_result": sum(
            c.status in ("pending", "never run", "skipped") for c in checks
        ),
    }


@dg.asset(
    key=REPORT_KEY,
    group_name="reports",
    kinds={"postgres", "html"},
    deps=TARGET_ASSETS,
    description=(
        "The migration report for sign-off: per table and partition the legacy rows read, "
        "loaded and quarantined (recounted against migration.reconciliation), quarantined rows "
        "by reason, the conversion rules' outcomes, durations and rows/s, the latest asset-check "
        "results, and a verdict (PASS / PASS WITH WARNINGS / FAIL). Written as self-contained "
        "HTML and as JSON; keys, counts and reasons only, no personal data. Checks that are not "
        "blocking may finish after this asset in the same run: `kgv report` shows the final "
        "state."
    ),
)
def migration_report(
    context: dg.AssetExecutionContext, config: MigrationReportConfig, postgres: PostgresResource
) -> dg.MaterializeResult:
    """Collect the figures, judge them, write HTML and JSON."""
    with postgres.reading() as conn:  # the read-only login (KGV_PG_READER_URL)
        report = build_report(
            conn, context.instance, check_specs(context.job_def), context.run.run_id
        )
    directory = report_directory(context.instance.root_directory, config.directory)
    files = write_report(report, directory)
    context.log.info("migration report: %s → %s", report.verdict.level, files.html)
    return dg.MaterializeResult(metadata=_metadata(report, str(files.html), str(files.json)))
