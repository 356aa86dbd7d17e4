"""GDPR erasure and export of one applicant (real PostgreSQL, real runs, the CLI).

The demo source is copied and one applicant given distinctive personal values (and a history
row whose note names them, which the legacy schema quarantines: its code is too long), so a
search for those values over every table, the audit trail, the quarantine, the report and the
Dagster event log finds exactly what the target holds about that person.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from kgv_assets.cli import main
from kgv_assets.sync.operate import VALIDATE_JOB, run_job
from kgv_assets_tests.conftest import Migrated, login_url, migrate_demo

PERSON = {
    "an_Vorname": "Quillaine",
    "an_Nachname": "Zyxwertova",
    "an_Geburtstag": "17.03.1903",
    "an_Strasse": "Löschweg 17b",
    "an_EMail": "quillaine.zyxwertova@example.org",
    "an_Telefon": "030 98765432",
}
# what the target holds of them (the converted birthday and phone included)
NEEDLES = [*PERSON.values(), "1903-03-17", "+493098765432", "98765432"]


@pytest.fixture(scope="module")
def person_source(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("gdpr") / "source.sqlite"
    shutil.copy(demo_source, source)
    with sqlite3.connect(source) as db:
        (key,) = db.execute(
            'SELECT an_ID FROM "Antrag" a WHERE EXISTS (SELECT 1 FROM "Verlauf" v'
            " WHERE v.verl_An_ID = a.an_ID) AND an_Bewerbungsdatum IS NOT NULL"
            " ORDER BY an_ID LIMIT 1"
        ).fetchone()
        sets = ", ".join(f'"{c}" = ?' for c in PERSON)
        db.execute(f'UPDATE "Antrag" SET {sets} WHERE an_ID = ?', [*PERSON.values(), key])
        db.execute(
            'INSERT INTO "Verlauf" (verl_ID, verl_An_ID, verl_Art, verl_Datum, verl_Hinweis)'
            " VALUES (?, ?, 'TOOLONGCODE', '2020-05-05 10:00:00', ?)",
            (str(uuid.uuid4()).upper(), key, "rief an: Quillaine Zyxwertova"),
        )
    return source


@pytest.fixture(scope="module")
def erased_setup(person_source: Path) -> Iterator[tuple[Migrated, str]]:
    with migrate_demo(person_source) as done, pytest.MonkeyPatch.context() as mp:
        done.point_env(mp)
        with sqlite3.connect(person_source) as db:
            (key,) = db.execute(
                'SELECT lower(an_ID) FROM "Antrag" WHERE an_Nachname = ?', (PERSON["an_Nachname"],)
            ).fetchone()
        # a change after the migration: audited, with the old and new row
        with psycopg.connect(login_url(done.url, "kgv_loader"), autocommit=True) as conn:
            conn.execute("UPDATE kgv.applications SET remarks = 'geprüft' WHERE id = %s", (key,))
        yield done, key


def places_holding(url: str) -> dict[str, int]:
    """Every table (any schema but the catalogues) whose rows' text holds one of NEEDLES."""
    found: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
        ).fetchall()
        for schema, table in tables:
            n = conn.execute(
                sql.SQL("SELECT count(*) FROM {} t WHERE t::text ILIKE ANY(%s)").format(
                    sql.Identifier(schema, table)
                ),
                ([f"%{v}%" for v in NEEDLES],),
            ).fetchone()
            if n and n[0]:
                found[f"{schema}.{table}"] = n[0]
    return found


def test_export_lists_every_place_then_erase_leaves_none(
    erased_setup: tuple[Migrated, str], tmp_path: Path
) -> None:
    migrated, key = erased_setup
    reviewer = login_url(migrated.url, "kgv_reviewer")
    before = places_holding(migrated.url)
    assert {"kgv.applications", "staging.Antrag", "audit.log", "migration.rejected_rows"} <= set(
        before
    ), before

    out = tmp_path / "export.json"
    env = {"KGV_PG_URL": reviewer, "KGV_PG_REVIEWER_URL": reviewer, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    exported = CliRunner().invoke(
        main, ["gdpr", "export", "--application-id", key, "--out", str(out)], env=env
    )
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text())
    assert set(before) <= set(document["places"]), (before, document["places"].keys())
    assert PERSON["an_Nachname"] in out.read_text()
    assert out.stat().st_mode & 0o077 == 0
    assert not any(v in exported.output for v in NEEDLES)

    erased = CliRunner().invoke(main, ["gdpr", "erase", "--application-id", key], env=env)
    assert erased.exit_code == 0, erased.output
    assert "erased" in erased.output and "holds the person's data" in erased.output
    assert not any(v in erased.output for v in NEEDLES)
    assert places_holding(migrated.url) == {}

    with psycopg.connect(migrated.url) as conn:
        row = conn.execute(
            "SELECT erased_by, rows_redacted::text FROM migration.erasures WHERE legacy_key = %s",
            (key,),
        ).fetchone()
        assert row is not None and row[0] == "kgv_reviewer"
        assert not any(v in row[1] for v in NEEDLES)
        # the application stays (its key, dates, history), without the person
        assert conn.execute(
            "SELECT count(*) FROM kgv.application_history WHERE application_id = %s", (key,)
        ).fetchone() != (0,)

    # the accounting still holds: every check of the validate job passes as before
    assert run_job(VALIDATE_JOB, migrated.instance).success
    # nothing in the Dagster event log, nor in the report
    for run in migrated.instance.get_runs():
        for entry in migrated.instance.all_logs(run.run_id):
            text = str(entry)
            assert not any(v in text for v in NEEDLES)
    reader = login_url(migrated.url, "kgv_reader")
    report = CliRunner().invoke(
        main, ["report"], env={"KGV_PG_URL": reader, "DAGSTER_HOME": str(tmp_path)}
    )
    assert "verdict" in report.output.lower()
    assert "1 applicant(s) erased" in report.output
    assert not any(v in report.output for v in NEEDLES)


def test_a_following_sync_does_not_restore_it(
    erased_setup: tuple[Migrated, str], person_source: Path
) -> None:
    migrated, key = erased_setup
    with psycopg.connect(migrated.url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM migration.erasures WHERE legacy_key = %s", (key,)
        ).fetchone() == (1,)
    # the legacy system still holds the person, and changes their row: the sync reloads it
    with sqlite3.connect(person_source) as db:
        db.execute(
            'UPDATE "Antrag" SET an_WartelistenNr32 = ?, an_Vorname = ? WHERE lower(an_ID) = ?',
            ("WL-999", "Quillaine", key),
        )
    assert run_job("incremental_migration", migrated.instance).success
    with psycopg.connect(migrated.url) as conn:
        assert conn.execute(
            "SELECT waiting_list_number_32, first_name FROM kgv.applications WHERE id = %s", (key,)
        ).fetchone() == ("WL-999", None)
    assert places_holding(migrated.url) == {}
    # and a full load of everything again
    from kgv_assets_tests.conftest import run_full_migration

    assert run_full_migration(migrated.instance, migrated.source_url).success
    assert places_holding(migrated.url) == {}


def test_the_dagster_job_erases_like_the_command(
    erased_setup: tuple[Migrated, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated, _ = erased_setup
    with psycopg.connect(migrated.url) as conn:
        other = conn.execute(
            "SELECT id::text FROM kgv.applications WHERE last_name IS NOT NULL"
            " AND email IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()
        assert other is not None
        (email,) = conn.execute(
            "SELECT email FROM kgv.applications WHERE id = %s", other
        ).fetchone() or (None,)
    migrated.point_env(monkeypatch)
    from kgv_assets.sync.operate import code_location

    job = code_location().get_job("gdpr_erase_job")
    result = job.execute_in_process(
        instance=migrated.instance,
        run_config={"ops": {"gdpr_erasure": {"config": {"application_id": other[0]}}}},
    )
    assert result.success
    with psycopg.connect(migrated.url) as conn:
        row = conn.execute(
            "SELECT last_name, email FROM kgv.applications WHERE id = %s", other
        ).fetchone()
        assert row == (None, None)
        erasure = conn.execute(
            "SELECT erased_by FROM migration.erasures WHERE legacy_key = %s", other
        ).fetchone()
        assert erasure == ("kgv_loader",)
    events = "\n".join(str(e) for e in migrated.instance.all_logs(result.run_id))
    assert email and email not in events
