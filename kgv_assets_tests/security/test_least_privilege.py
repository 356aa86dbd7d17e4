"""Least privilege: migration, validate, sync and ``kgv report`` under the logins.

Each login is refused what it must not do (real PostgreSQL).

The ``migrated`` fixture (conftest) already ran the full migration as ``kgv_loader`` with
``KGV_PG_READER_URL`` as ``kgv_reader``; the superuser only created the database, the logins
and the schema.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import errors

from kgv_assets.cli import main
from kgv_assets.sync.operate import VALIDATE_JOB, run_job
from kgv_assets_tests.conftest import ROOT, Migrated, login_url, scalar


def _refused(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement.encode())


def test_the_migration_ran_as_the_loader_and_left_nothing_deferred(migrated: Migrated) -> None:
    with psycopg.connect(migrated.url) as conn:
        # the owner's functions restored every index, foreign key and trigger they dropped
        assert scalar(conn, "SELECT count(*) FROM migration.bulk_load_deferred") == 0
        assert scalar(conn, "SELECT count(*) FROM kgv.applications") > 0
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
            " WHERE relnamespace::regnamespace::text IN ('staging', 'kgv', 'migration', 'audit')"
            " AND relkind IN ('r', 'p', 'm')"
        ).fetchall()
        assert owners == [("kgv_owner",)]
        assert (
            scalar(
                conn,
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'kgv'"
                " AND tablename = 'applications'",
            )
            >= 8
        )
        loader = scalar(
            conn, "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = 'kgv_loader'"
        )
        assert loader is False


def test_the_loader_cannot_create_or_alter_tables(migrated: Migrated) -> None:
    loader = login_url(migrated.url, "kgv_loader")
    _refused(loader, "CREATE TABLE kgv.intruder (a int)")
    _refused(loader, "CREATE TABLE staging.intruder (a int)")
    _refused(loader, "ALTER TABLE kgv.applications DROP CONSTRAINT applications_pkey")
    _refused(loader, "UPDATE migration.schema_migrations SET sha256 = 'x'")
    _refused(loader, "SELECT migration.assign_privileges()")


def test_the_reader_cannot_write_nor_read_personal_rows(migrated: Migrated) -> None:
    reader = login_url(migrated.url, "kgv_reader")
    _refused(reader, "UPDATE kgv.applications SET remarks = 'x'")
    _refused(reader, "DELETE FROM migration.reconciliation")
    _refused(reader, "SELECT raw_row FROM migration.rejected_rows")
    _refused(reader, "SELECT old_row FROM audit.log")
    _refused(reader, "SELECT new_row FROM audit.log")
    _refused(reader, "SELECT migration.bulk_load_begin('kgv.users'::regclass)")
    with psycopg.connect(reader) as conn:  # the figures stay readable
        assert scalar(conn, "SELECT count(*) FROM migration.rejected_rows") > 0
        conn.execute("SELECT id, source_table, reasons FROM migration.rejected_rows")
        conn.execute("SELECT table_name, operation, changed_at FROM audit.log")


def test_the_exporter_cannot_read_personal_rows(migrated: Migrated) -> None:
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        conn.execute(
            "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kgv_monitor_test')"
            " THEN CREATE ROLE kgv_monitor_test LOGIN; END IF; END$$"
        )
        grants = (ROOT / "monitoring/postgres-exporter/grants.sql").read_text()
        for line in grants.splitlines():
            if line.startswith("GRANT"):
                conn.execute(line.replace(':"role"', "kgv_monitor_test").encode())
    url = migrated.url.replace("postgres@", "kgv_monitor_test@", 1)
    _refused(url, "SELECT raw_row FROM migration.rejected_rows")
    _refused(url, "SELECT old_row, new_row FROM audit.log")


def test_the_reviewer_reads_the_personal_rows(migrated: Migrated) -> None:
    with psycopg.connect(login_url(migrated.url, "kgv_reviewer")) as conn:
        assert scalar(conn, "SELECT count(raw_row) FROM migration.rejected_rows") > 0
        conn.execute("SELECT old_row, new_row FROM audit.log")
    _refused(login_url(migrated.url, "kgv_reviewer"), "CREATE TABLE kgv.intruder (a int)")


def test_validate_and_kgv_report_run_as_the_reader(
    migrated: Migrated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_job(VALIDATE_JOB, migrated.instance)
    assert result.success
    reader = login_url(migrated.url, "kgv_reader")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    done = CliRunner().invoke(
        main, ["report"], env={"KGV_PG_URL": reader, "KGV_PG_READER_URL": reader}
    )
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert "verdict" in done.output.lower()


def test_an_incremental_sync_runs_as_the_loader(migrated: Migrated) -> None:
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        before = scalar(conn, "SELECT count(*) FROM audit.log")
    result = run_job("incremental_migration", migrated.instance)
    assert result.success
    with psycopg.connect(migrated.url) as conn:
        assert scalar(conn, "SELECT count(*) FROM audit.log") == before  # nothing changed
        assert scalar(conn, "SELECT count(*) FROM migration.bulk_load_deferred") == 0


def test_the_audit_trail_names_the_login_that_changed_a_row(migrated: Migrated) -> None:
    with psycopg.connect(login_url(migrated.url, "kgv_loader")) as conn:  # rolled back
        conn.execute("UPDATE kgv.districts SET name = name || '' WHERE true")
        conn.execute("UPDATE kgv.districts SET name = name || 'x' WHERE true")
        row = conn.execute(
            "SELECT changed_by, session_user_name FROM audit.log ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert row == ("kgv_loader", "kgv_loader")
        conn.rollback()
