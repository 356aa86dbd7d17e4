"""Checks before anything is written: each failure is one line that says what to fix.

``kgv preflight`` runs them, and so does the first step of every ``full_migration``
(``backups/pre_migration_snapshot``, upstream of everything else), so a run with a wrong URL,
a missing ODBC driver, a legacy table or column the source lacks, or a target migrated by a
newer version of this code stops before the target is touched. In order:

1. the source URL parses and names a supported backend (``mssql+pyodbc``, ``sqlite``); a
   SQLite file exists (connecting would create an empty one);
2. the source answers: the ODBC driver is installed, the host is reachable, the login works;
   the server's version is supported (``kgv_assets.legacy.dialects``);
3. every legacy table and column of the catalogue exists in the source (columns the source
   has beyond the catalogue are reported, not fatal: the extractor never selects them);
4. the target URL parses, the target answers and the login works;
5. the target's applied schema migrations are all known to this code (none from a newer
   version; ``kgv_assets.schema_migrations``).

No message ever holds a password: URLs are shown with it masked, and driver messages are
scrubbed of it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import psycopg
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.dialects import UnsupportedServerError
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.schema_migrations import sql_files

SUPPORTED_BACKENDS = ("mssql", "sqlite")


class PreflightError(RuntimeError):
    """A check failed; ``str()`` is the one line to show."""


@dataclass
class Findings:
    """What the checks found besides errors: facts for people and non-fatal notes."""

    facts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def mask_password(url: str) -> str:
    """``url`` with any password replaced by ``***`` (URL userinfo or ``password=``)."""
    masked = re.sub(r"(://[^:/?#@]*:)[^@/?#]*@", r"\1***@", url)
    return re.sub(r"(?i)\b(password|pwd)=[^&;\s]*", r"\1=***", masked)


def _passwords(*urls: str) -> list[str]:
    found = []
    for url in urls:
        try:
            password = make_url(url).password
        except ArgumentError:
            password = None
        if password:
            found.append(str(password))
        try:
            libpq = conninfo_to_dict(url).get("password")
        except psycopg.ProgrammingError:
            libpq = None
        if libpq:
            found.append(str(libpq))
    return found


def scrub(text: str, *urls: str) -> str:
    """``text`` on one line, with the passwords of ``urls`` (and URLs in it) masked."""
    line = " ".join(mask_password(text).split())
    for password in _passwords(*urls):
        line = line.replace(password, "***")
    return line


def _source_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise PreflightError(  # not echoed: an unparsable URL may hold a password anywhere
            "KGV_SOURCE_URL is not a valid SQLAlchemy URL: expected "
            "mssql+pyodbc://user:password@host:1433/KGV?driver=... or sqlite:///file"
        ) from err
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise PreflightError(
            f"KGV_SOURCE_URL uses {parsed.get_backend_name()!r}: the source must be "
            "mssql+pyodbc://... (SQL Server) or sqlite:///... (the demo)"
        )
    if parsed.get_backend_name() == "sqlite" and not (
        parsed.database and Path(parsed.database).is_file()
    ):
        raise PreflightError(
            f"KGV_SOURCE_URL: no SQLite file at {parsed.database or '(none)'} "
            "(make demo generates .demo/kgv_demo.sqlite)"
        )
    return parsed


def _connect_error(err: DBAPIError, url: URL, raw: str) -> PreflightError:
    """The one line for a failed connection to the source."""
    args = getattr(err.orig, "args", None)
    text = scrub(str(args[-1]) if args else str(err.orig), raw)
    where = f"{url.host or 'localhost'}:{url.port or 1433}"
    driver = url.query.get("driver")
    if "Can't open lib" in text or "IM002" in text or "Data source name not found" in text:
        return PreflightError(
            f"KGV_SOURCE_URL: the ODBC driver {driver!r} is not installed "
            "(`odbcinst -q -d` lists the installed ones; make setup installs FreeTDS)"
        )
    if "28000" in text or "Login failed" in text or "18456" in text:
        return PreflightError(
            f"KGV_SOURCE_URL: SQL Server at {where} refused the login of {url.username!r}: "
            "check the user name and password"
        )
    if any(s in text for s in ("08001", "08S01", "HYT00", "unavailable", "timeout", "resolve")):
        return PreflightError(
            f"KGV_SOURCE_URL: cannot reach SQL Server at {where}: check host, port, firewall "
            f"and TDS_Version ({text})"
        )
    return PreflightError(f"KGV_SOURCE_URL ({mask_password(raw)}): cannot connect: {text}")


def check_source(source: LegacySourceResource, findings: Findings) -> None:
    """Checks 1-3 (see the module docstring); raises PreflightError with the first failure."""
    url = _source_url(source.url)
    try:
        columns = source.source_columns()
        findings.facts.append(f"source: {source.url_for_people}, {source.server_description}")
    except DBAPIError as err:
        raise _connect_error(err, url, source.url) from None
    except UnsupportedServerError as err:
        raise PreflightError(f"KGV_SOURCE_URL: {err}") from None
    schema = f"{source.schema_name}." if source.schema_name else ""
    for t in TABLES:
        have = columns.get(t.name)
        if have is None:
            raise PreflightError(
                f"the source has no legacy table {schema}{t.name} (KGV_SOURCE_SCHEMA is "
                f"{source.schema_name or 'unset'}): check the database and schema"
            )
        missing = [c for c in t.column_names if c not in have]
        if missing:
            raise PreflightError(
                f"the source table {schema}{t.name} lacks the column(s) {', '.join(missing)} "
                "the catalogue expects (kgv_assets/legacy/catalogue.py): schema drift"
            )
        extra = sorted(have - set(t.column_names))
        if extra:
            findings.notes.append(
                f"note: {schema}{t.name} has column(s) the catalogue does not know, not "
                f"migrated: {', '.join(extra)}"
            )


def check_target(url: str, findings: Findings) -> None:
    """Checks 4-5 (see the module docstring); raises PreflightError with the first failure."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise PreflightError(  # not echoed, nor libpq's message quoting it: it may hold a password
            "KGV_PG_URL is not a valid libpq URL: expected postgresql://user:password@host:5432/db"
        ) from None
    where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            applied = _applied_migrations(conn)
    except psycopg.OperationalError as err:
        text = scrub(str(err), url)
        if "password authentication failed" in text or "no password supplied" in text:
            raise PreflightError(
                f"KGV_PG_URL: PostgreSQL at {where} refused the login of "
                f"{info.get('user', '')!r}: check the user name and password"
            ) from None
        if 'database "' in text and "does not exist" in text:
            raise PreflightError(
                f"KGV_PG_URL: PostgreSQL at {where} has no such database (createdb it first)"
            ) from None
        raise PreflightError(f"KGV_PG_URL: cannot reach PostgreSQL at {where} ({text})") from None
    known = {f.name for f in sql_files()}
    ahead = sorted(set(applied) - known)
    if ahead:
        raise PreflightError(
            f"KGV_PG_URL: the target at {where} has schema migrations this code does not know "
            f"({', '.join(ahead)}): it was migrated by a newer kgv_assets; run that version"
        )
    findings.facts.append(f"target: {where}, {len(applied)} of {len(known)} SQL files applied")


def _applied_migrations(conn: psycopg.Connection) -> list[str]:
    row = conn.execute("SELECT to_regclass('migration.schema_migrations')").fetchone()
    if not row or row[0] is None:
        return []
    return [name for (name,) in conn.execute("SELECT name FROM migration.schema_migrations")]


def preflight(source: LegacySourceResource, target_url: str) -> Findings:
    """All checks, source first; raises PreflightError with the first failure."""
    findings = Findings()
    check_source(source, findings)
    check_target(target_url, findings)
    return findings


def environment_url(name: str) -> str:
    """The variable ``name``, or a PreflightError naming it."""
    value = os.environ.get(name)
    if not value:
        raise PreflightError(f"{name} is not set (docker/with-env.sh sets it; see the README)")
    return value


def run_preflight(
    context: dg.AssetExecutionContext, source: LegacySourceResource, target_url: str
) -> None:
    """The checks at the start of a run: log what was found, or fail the step in one line."""
    try:
        findings = preflight(source, target_url)
    except PreflightError as err:
        raise dg.Failure(description=f"preflight: {err}", allow_retries=False) from None
    for line in findings.facts:
        context.log.info("preflight: %s", line)
    for line in findings.notes:
        context.log.warning("preflight: %s", line)
