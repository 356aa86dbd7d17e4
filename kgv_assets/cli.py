"""``kgv``: the operator's command line (demo data, partitions, summaries, the mapping document).

Every command reads the same environment as the Dagster code location (KGV_SOURCE_URL,
KGV_SOURCE_SCHEMA, KGV_PG_URL, DAGSTER_HOME) and prints keys, counts and reasons only — never
legacy values, which are personal data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import dagster as dg

from kgv_assets.backup.cli import backup, rollback_command
from kgv_assets.cli_preflight import checked, preflight_command
from kgv_assets.legacy.demo_data import generate
from kgv_assets.partitions import (
    LEGACY_YEAR,
    all_partitions_tags,
    register_partition_keys,
)
from kgv_assets.reporting.check_results import check_specs
from kgv_assets.reporting.collect import MissingSchemaError, build_report
from kgv_assets.reporting.files import report_directory, write_report
from kgv_assets.reporting.summary import format_table, overall, summary
from kgv_assets.reporting.terminal import render_terminal
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.security.cli import COMMANDS as SECURITY_COMMANDS
from kgv_assets.security.connection import READER_URL, connect, url_for
from kgv_assets.sync.operate import (
    INCREMENTAL_JOB,
    VALIDATE_JOB,
    code_location,
    migrate_full,
    run_job,
)
from kgv_assets.transform.tables.document import render
from kgv_assets.transform.tables.registry import LOADERS


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise click.ClickException(f"{name} is not set (make targets set it; see the README)")
    return value


def _source() -> LegacySourceResource:
    return LegacySourceResource(url=_env("KGV_SOURCE_URL"))


@click.group()
def main() -> None:
    """Operate the KGV migration (legacy SQL Server → PostgreSQL)."""


@main.command("demo-data")
@click.option("--scale", type=float, default=1.0, show_default=True, help="1 ≈ a mid-size city")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def demo_data(scale: float, seed: int, out: Path) -> None:
    """Write the embedded demo source (SQLite with the legacy table and column names)."""
    counts = generate(out, scale=scale, seed=seed)
    width = max(map(len, counts))
    for name, n in counts.items():
        click.echo(f"{name:<{width}}  {n:>9}")
    click.echo(f"{'total':<{width}}  {sum(counts.values()):>9}  → {out}")


@main.group()
def partitions() -> None:
    """The yearly partitions of the dated tables (registered from the source)."""


@partitions.command("sync")
def partitions_sync() -> None:
    """Register every year found in the source as a partition (new years need no code)."""
    instance = dg.DagsterInstance.get()
    new = register_partition_keys(instance, _source().partition_keys())
    known = instance.get_dynamic_partitions(LEGACY_YEAR)
    click.echo(f"{len(known)} partitions ({len(new)} new: {', '.join(new) or '-'})")


@partitions.command("range-tags")
def partitions_range_tags() -> None:
    """Print the run tags that select all partitions (for `dagster job execute --tags`)."""
    click.echo(json.dumps(all_partitions_tags(dg.DagsterInstance.get())))


@main.command("summary")
def summary_command() -> None:
    """Per table: rows read, loaded, quarantined, seconds, rows/s, peak memory; then the total."""
    with connect(url_for(READER_URL)) as conn:
        staged, loaded = summary(conn, "staging"), summary(conn, "target")
    for rows, label, title in (
        (staged, "staged", "legacy → staging"),
        (loaded, "loaded", "staging → target"),
    ):
        if rows:
            click.echo(f"\n{title}\n{format_table(rows, label)}")
    if staged:
        click.echo(f"\n{overall(staged, loaded)}")


@main.command("report")
@click.option(
    "--write",
    is_flag=True,
    help="Also write the HTML and JSON files ($KGV_REPORTS_DIR, else $DAGSTER_HOME/reports).",
)
def report_command(write: bool) -> None:
    """The migration report: accounting, quarantine, rules, checks, verdict (exit 1 on FAIL).

    Computed now from the target database and the Dagster instance (the same code as the
    migration/report asset), so it includes checks that finished after the report asset ran.
    """
    instance = dg.DagsterInstance.get()
    with connect(url_for(READER_URL), autocommit=True) as conn:
        try:
            report = build_report(
                conn, instance, check_specs(code_location().get_implicit_global_asset_job_def())
            )
        except MissingSchemaError as err:
            raise click.ClickException(str(err)) from err
    click.echo(render_terminal(report))
    if write:
        files = write_report(report, report_directory(instance.root_directory))
        click.echo(f"written: {files.html} and {files.json}")
    if report.verdict.failed:
        raise SystemExit(1)


@main.group()
def migrate() -> None:
    """Run the migration's jobs on this Dagster instance (DAGSTER_HOME), as the UI would."""


def _finish(result: dg.ExecuteInProcessResult) -> None:
    status = "succeeded" if result.success else "FAILED"
    click.echo(f"{result.job_def.name}: run {result.run_id} {status}")
    if not result.success:
        raise SystemExit(1)


@migrate.command("full")
def migrate_full_command() -> None:
    """Register the source's partitions, then full_migration over all of them (one run)."""
    checked()  # issue 13: one line and exit 1 before anything is written
    _finish(migrate_full(dg.DagsterInstance.get(), _source()))


@migrate.command("incremental")
def migrate_incremental_command() -> None:
    """Reload only the partitions whose source fingerprint changed (incremental_migration)."""
    _finish(run_job(INCREMENTAL_JOB, dg.DagsterInstance.get()))


@migrate.command("validate")
def migrate_validate_command() -> None:
    """Run every asset check over all partitions (the validate job); fails on an ERROR."""
    _finish(run_job(VALIDATE_JOB, dg.DagsterInstance.get()))


@main.command("mapping")
def mapping_command() -> None:
    """Print the mapping document (legacy column → target column → rule)."""
    click.echo(render(c.mapping for c in LOADERS), nl=False)


# Recoverability (issue 14): `kgv backup ...` and `kgv migrate rollback`.
main.add_command(backup)
migrate.add_command(rollback_command)

# Issue 13: `kgv preflight`, the checks every full_migration runs first.
main.add_command(preflight_command)
# Security and personal data (issue 16): `kgv roles`, `kgv schema`, `kgv gdpr`.
for command in SECURITY_COMMANDS:
    main.add_command(command)
