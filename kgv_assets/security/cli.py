"""``kgv roles``, ``kgv schema`` and ``kgv gdpr``: logins, the schema, erasure and export.

Every command prints keys, counts and dates only: never a password, never personal data
(``kgv gdpr export`` writes the person's data into the file it is given, and prints where).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import dagster as dg
import psycopg

from kgv_assets.backup.locations import backup_directory
from kgv_assets.security import erasure
from kgv_assets.security.connection import (
    OWNER_URL,
    REVIEWER_URL,
    TargetConnectionError,
    connect,
    url_for,
)
from kgv_assets.security.roles import LOGINS, apply_schema, create_logins


def _url(variable: str) -> str:
    try:
        return url_for(variable)
    except TargetConnectionError as err:
        raise click.ClickException(str(err)) from None


def _connect(variable: str) -> psycopg.Connection:
    try:
        return connect(_url(variable), autocommit=True)
    except TargetConnectionError as err:
        raise click.ClickException(str(err)) from None


@click.group()
def roles() -> None:
    """The logins of each part of the system (least privilege; see the README)."""


@roles.command("create")
def roles_create() -> None:
    """Create the roles and logins (as a superuser, KGV_PG_OWNER_URL or KGV_PG_URL).

    Passwords from KGV_MIGRATOR_PASSWORD, KGV_LOADER_PASSWORD, KGV_READER_PASSWORD,
    KGV_REVIEWER_PASSWORD, KGV_DAGSTER_PASSWORD; a login whose variable is unset is skipped.
    """
    with _connect(OWNER_URL) as conn:
        for line in create_logins(conn):
            click.echo(line)


@roles.command("list")
def roles_list() -> None:
    """The logins, what each is for, and the variable of its password."""
    for login in LOGINS:
        member = f" (member of {', '.join(login.member_of)})" if login.member_of else ""
        click.echo(f"{login.name:<13} {login.purpose}{member}; {login.password_variable}")


@click.group()
def schema() -> None:
    """The target schema (sql/target), applied by the owner."""


@schema.command("apply")
def schema_apply() -> None:
    """Apply new SQL files, create staging tables, assign owner and grants (KGV_PG_OWNER_URL)."""
    with _connect(OWNER_URL) as conn:
        applied = apply_schema(conn)
    click.echo(f"{len(applied)} SQL files applied: {', '.join(applied) or 'none (up to date)'}")


@click.group()
def gdpr() -> None:
    """Erasure (Art. 17) and export (Art. 15) of one applicant (KGV_PG_REVIEWER_URL)."""


def _backups(before: datetime) -> None:
    folder = backup_directory(dg.DagsterInstance.get().root_directory)
    for line in erasure.describe_backups(erasure.backups_holding(folder, before)):
        click.echo(line)


@gdpr.command("erase")
@click.option("--application-id", required=True, help="kgv.applications.id (legacy an_ID)")
def gdpr_erase(application_id: str) -> None:
    """Remove the applicant's personal data and suppress it in later loads."""
    try:
        with _connect(REVIEWER_URL) as conn:
            done = erasure.erase(conn, application_id)
    except (LookupError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    state = "erased" if done.first_time else "already erased; redacted again"
    click.echo(f"application {done.application_id}: {state} at {done.erased_at.isoformat()}")
    for place, n in done.rows.items():
        click.echo(f"  {place}: {n} rows redacted")
    _backups(done.erased_at)


@gdpr.command("export")
@click.option("--application-id", required=True, help="kgv.applications.id (legacy an_ID)")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSON file to write (mode 0600: it holds the person's data)",
)
def gdpr_export(application_id: str, out: Path) -> None:
    """Write what the target holds about one applicant, by place."""
    try:
        with _connect(REVIEWER_URL) as conn:
            places = erasure.held_data(conn, application_id)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    erasure.write_export(out, application_id, places)
    for place, rows in places.items():
        click.echo(f"  {place}: {len(rows)} rows")
    click.echo(f"written: {out}")
    _backups(datetime.now(UTC))


COMMANDS = (roles, schema, gdpr)
