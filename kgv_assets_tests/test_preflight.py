"""One-line errors before anything is written: ``kgv preflight`` and the start of a Dagster run.

Each broken set-up — a source URL that is no URL, a SQLite file that is not there, a SQL Server
that does not answer, an ODBC driver that is not installed, a target login with the wrong
password, a target that does not answer, a legacy column the source lacks, a target migrated
by a newer version — is run for real: ``kgv preflight`` in a subprocess (exit code 1, one line
on stderr) and ``full_migration`` on a Dagster instance (the run fails in its first step with
the same line). The password of every URL never appears in the output or the event log, and
the target is left as it was. Wrong credentials need a server that checks them: a private
PostgreSQL cluster with scram-sha-256 on port 56130 (the shared test server trusts everyone).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kgv_assets.preflight import mask_password
from kgv_assets.sync.operate import FULL_JOB, run_job
from kgv_assets_tests.conftest import ROOT, scalar

PASSWORD = "Pw-13-never-shown"
CLOSED_PORT = 56131  # nothing listens there (checked below)
SCRAM_PORT = 56130


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def scram_server() -> Iterator[str]:
    """A private PostgreSQL that checks passwords: the URL of its database, right password."""
    assert _free(SCRAM_PORT) and _free(CLOSED_PORT)
    bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    data = Path(tempfile.mkdtemp(prefix="kgv_scram_"))
    shutil.chown(data, "postgres")
    pwfile = data / "pw"
    pwfile.write_text("right-password\n")
    shutil.chown(pwfile, "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres",
         "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l",
         str(data / "log"), "-o", f"-p {SCRAM_PORT} -k {data} -c listen_addresses=127.0.0.1",
         "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres:right-password@127.0.0.1:{SCRAM_PORT}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def drifted_source(demo_source: Path, tmp_path: Path) -> str:
    """The demo source without Antrag.an_PLZ and with an extra column in Personen."""
    path = tmp_path / "drifted.sqlite"
    shutil.copy(demo_source, path)
    with sqlite3.connect(path) as db:
        db.execute('ALTER TABLE "Antrag" DROP COLUMN "an_PLZ"')
    return f"sqlite:///{path}"


@pytest.fixture
def extra_column_source(demo_source: Path, tmp_path: Path) -> str:
    path = tmp_path / "extra.sqlite"
    shutil.copy(demo_source, path)
    with sqlite3.connect(path) as db:
        db.execute('ALTER TABLE "Personen" ADD COLUMN "pe_Neu" varchar(10)')
    return f"sqlite:///{path}"


@pytest.fixture
def future_target(pg_url: str) -> str:
    """A target whose applied migrations include one this code does not have."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA migration")
        conn.execute(
            "CREATE TABLE migration.schema_migrations (name text PRIMARY KEY, sha256 text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("INSERT INTO migration.schema_migrations VALUES ('999_future.sql', 'x')")
    return pg_url


def _with_password(url: str) -> str:
    """``url`` (postgresql://user@host...) with PASSWORD as the password."""
    return url.replace("://postgres@", f"://postgres:{PASSWORD}@", 1)


MSSQL = f"mssql+pyodbc://kgv_reader:{PASSWORD}@127.0.0.1:{CLOSED_PORT}/KGV"
CASES = {
    # case: (source URL or fixture, target URL or fixture, what the one line must say)
    "source no URL": (
        f"mssql+pyodbc//kgv_reader:{PASSWORD}@host/KGV", "pg", "is not a valid SQLAlchemy URL",
    ),
    "source file missing": ("sqlite:////nowhere/kgv.sqlite", "pg", "no SQLite file at"),
    "source unreachable": (
        f"{MSSQL}?driver=FreeTDS&TDS_Version=7.3", "pg", "cannot reach SQL Server at 127.0.0.1",
    ),
    "driver missing": (
        f"{MSSQL}?driver=No+Such+Driver", "pg", "the ODBC driver 'No Such Driver' is not installed",
    ),
    "target wrong password": ("demo", "scram", "refused the login of 'postgres'"),
    "target unreachable": (
        "demo", f"postgresql://postgres:{PASSWORD}@127.0.0.1:{CLOSED_PORT}/kgv",
        "cannot reach PostgreSQL at 127.0.0.1:56131/kgv",
    ),
    "target no URL": ("demo", f"host=127.0.0.1 password {PASSWORD}", "not a valid libpq"),
    "column missing": ("drifted", "pg", "Antrag lacks the column(s) an_PLZ"),
    "target ahead": ("demo", "future", "schema migrations this code does not know (999_future"),
}  # fmt: skip


@pytest.fixture
def case_urls(
    request: pytest.FixtureRequest, demo_source: Path, pg_url: str
) -> Iterator[tuple[str, str, str, str]]:
    """(source URL, target URL, expected text, a URL of the untouched target to inspect)."""
    source, target, expected = CASES[request.param]
    if source == "demo":
        source = f"sqlite:///{demo_source}"
    elif source == "drifted":
        source = request.getfixturevalue("drifted_source")
    inspect = pg_url
    if target == "pg":
        target = _with_password(pg_url)  # the shared server trusts: any password "works"
    elif target == "scram":
        right = request.getfixturevalue("scram_server")
        target = right.replace("right-password", PASSWORD)
        inspect = right
    elif target == "future":
        target = _with_password(request.getfixturevalue("future_target"))
    yield source, target, expected, inspect


def _untouched(url: str) -> None:
    """Nothing written: no schema of the migration exists, nor any migration table but ours."""
    with psycopg.connect(url) as conn:
        schemas = {s for (s,) in conn.execute("SELECT nspname FROM pg_namespace").fetchall()} & {
            "staging",
            "kgv",
            "audit",
        }
        assert not schemas, f"written: {schemas}"
        tables = scalar(
            conn,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'migration'"
            " AND tablename <> 'schema_migrations'",
        )
        assert tables == 0


def _env(source: str, target: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGV_")}
    return {**env, "KGV_SOURCE_URL": source, "KGV_PG_URL": target, "DAGSTER_HOME": str(home)}


@pytest.mark.parametrize("case_urls", list(CASES), indirect=True)
def test_kgv_preflight_fails_in_one_line(
    case_urls: tuple[str, str, str, str], tmp_path: Path
) -> None:
    source, target, expected, inspect = case_urls
    done = subprocess.run(
        ["kgv", "preflight"],
        env=_env(source, target, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0], lines[0]
    assert PASSWORD not in done.stdout + done.stderr
    if "scram" not in inspect:
        _untouched(inspect)


RUN_CASES = ["source unreachable", "driver missing", "target wrong password", "column missing",
             "target ahead"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case_urls", RUN_CASES, indirect=True)
def test_full_migration_fails_in_its_first_step_in_one_line(
    case_urls: tuple[str, str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target, expected, inspect = case_urls
    monkeypatch.setenv("KGV_SOURCE_URL", source)
    monkeypatch.setenv("KGV_PG_URL", target)
    with dg.instance_for_test() as instance:
        result = run_job(FULL_JOB, instance)
        assert not result.success
        failures = [e for e in result.all_events if e.is_step_failure]
        assert [e.step_key for e in failures] == ["backups__pre_migration_snapshot"]
        data = failures[0].step_failure_data
        assert data.user_failure_data is not None
        line = data.user_failure_data.description or ""
        assert line.startswith("preflight: ") and expected in line and "\n" not in line
        started = {e.step_key for e in result.all_events if e.is_step_start}
        assert started == {"backups__pre_migration_snapshot"}, "nothing ran after it"
        logs = json.dumps([str(entry) for entry in instance.all_logs(result.run_id)])
        assert PASSWORD not in logs
    if "scram" not in inspect:
        _untouched(inspect)


def test_an_extra_source_column_is_noted_not_fatal(
    extra_column_source: str, pg_url: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        ["kgv", "preflight"],
        env=_env(extra_column_source, pg_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "note: Personen has column(s) the catalogue does not know, not migrated: pe_Neu" in (
        done.stdout
    )
    assert done.stdout.strip().endswith("preflight: ok")


def test_urls_are_shown_with_their_password_masked() -> None:
    assert mask_password(f"postgresql://u:{PASSWORD}@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert PASSWORD not in mask_password(f"host=h password={PASSWORD} user=u")
    assert mask_password(f"{MSSQL}?driver=FreeTDS").startswith("mssql+pyodbc://kgv_reader:***@")
