"""The logins of kgv_assets and the schema they work in (``kgv roles create``, ``kgv schema``).

Each part of the system has its own login, a member of the role that carries its privileges
(``sql/target/130_least_privilege.sql``). Passwords come from environment variables and are
sent to the server as scram-sha-256 verifiers computed here (libpq's
``PQencryptPasswordConn``), so the plain password is in no statement, no server log and no
pgaudit line; nothing secret is printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg
from psycopg import sql

from kgv_assets.layout import STAGING
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.load.staging import staging_ddl
from kgv_assets.schema_migrations import apply_sql_files

GROUP_ROLES = ("kgv_owner", "kgv_app", "kgv_readonly", "kgv_loader", "kgv_reviewer", "kgv_dagster")


@dataclass(frozen=True)
class Login:
    """One login: its name, the variable holding its password, the roles it is a member of."""

    name: str
    password_variable: str
    member_of: tuple[str, ...]
    purpose: str


LOGINS = (
    Login("kgv_migrator", "KGV_MIGRATOR_PASSWORD", ("kgv_owner",), "schema migrations (owner)"),
    Login("kgv_loader", "KGV_LOADER_PASSWORD", (), "the pipeline: staging, kgv, migration"),
    Login("kgv_reader", "KGV_READER_PASSWORD", ("kgv_readonly",), "checks and report, read only"),
    Login("kgv_reviewer", "KGV_REVIEWER_PASSWORD", (), "quarantine and audit rows; GDPR"),
    Login("kgv_dagster", "KGV_DAGSTER_PASSWORD", (), "Dagster's storage, schema dagster"),
)


def _exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def create_logins(conn: psycopg.Connection, env: Mapping[str, str] | None = None) -> list[str]:
    """Create the group roles and the logins whose password variable is set; one line each.

    Run by a superuser (or a login with CREATEROLE). Idempotent: an existing login gets its
    password set again and its memberships granted.
    """
    env = os.environ if env is None else env
    lines = []
    for role in GROUP_ROLES:
        if not _exists(conn, role):
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    for login in LOGINS:
        password = env.get(login.password_variable)
        if not password:
            lines.append(f"{login.name}: skipped ({login.password_variable} is not set)")
            continue
        verifier = conn.pgconn.encrypt_password(
            password.encode(), login.name.encode(), b"scram-sha-256"
        )
        existed = _exists(conn, login.name)
        statement = (
            "ALTER ROLE {} LOGIN PASSWORD {}" if existed else "CREATE ROLE {} LOGIN PASSWORD {}"
        )
        conn.execute(
            sql.SQL(statement).format(sql.Identifier(login.name), sql.Literal(verifier.decode()))
        )
        for role in login.member_of:
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(login.name))
            )
        state = "updated" if existed else "created"
        lines.append(
            f"{login.name}: {state}, scram-sha-256 password from {login.password_variable}"
            f" ({login.purpose})"
        )
    return lines


def apply_schema(conn: psycopg.Connection) -> list[str]:
    """Apply the SQL files, create the staging tables, give every object its owner and grants.

    The loader may not create tables, so the staging tables (one per legacy table, from the
    catalogue) are made here, by the login that applies the schema.
    """
    applied = apply_sql_files(conn)
    with conn.transaction():
        for table in TABLES:
            found = conn.execute(
                "SELECT to_regclass(%s)", (sql.Identifier(STAGING, table.name).as_string(conn),)
            ).fetchone()
            if not (found and found[0]):
                conn.execute(staging_ddl(table))
        if conn.execute("SELECT to_regprocedure('migration.assign_privileges()')").fetchone() != (
            None,
        ):
            conn.execute("SELECT migration.assign_privileges()")
    return applied
