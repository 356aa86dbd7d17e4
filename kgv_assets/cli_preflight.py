"""``kgv preflight``: the checks every full_migration runs first, from the command line.

Kept apart from ``kgv_assets.cli`` (which only registers it). Prints what it found (the source
with its server version and fingerprint strategy, the target with its applied SQL files, notes
on extra source columns) and exits 0, or prints one line saying what to fix and exits 1.
Nothing is written anywhere.
"""

from __future__ import annotations

import click

from kgv_assets.preflight import Findings, PreflightError, environment_url, preflight
from kgv_assets.resources.legacy_source import LegacySourceResource


def checked() -> Findings:
    """Run the checks on the environment's URLs; a failure becomes a one-line ClickException."""
    try:
        source = LegacySourceResource(url=environment_url("KGV_SOURCE_URL"))
        return preflight(source, environment_url("KGV_PG_URL"))
    except PreflightError as err:
        raise click.ClickException(str(err)) from None


@click.command("preflight")
def preflight_command() -> None:
    """Check source and target before anything is written (URLs, driver, login, drift)."""
    findings = checked()
    for line in [*findings.facts, *findings.notes]:
        click.echo(line)
    click.echo("preflight: ok")
