"""``kgv migrate rollback``: migrate, change the source, migrate again, roll back.

One module-wide scenario on a fresh database and a test instance: the first ``full_migration``
finds an empty target (no snapshot to take); the source (a copy of the demo) then changes —
an applicant moves, history rows are deleted, an application is added — and the second
``full_migration`` first snapshots the target (``backups/pre_migration_snapshot``, before
``migration/schema_migrations``), then loads the changes. Refusals come first (a run in
progress, no snapshot) and change nothing; then the rollback restores every table of staging,
kgv, migration and audit to the content hash it had before the second migration (recounted
here, and the applications compared row by row), records itself in ``migration.rollbacks`` and
``audit.log``, and ``kgv report`` shows it with its accounting intact.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kgv_assets.backup import dumps
from kgv_assets.backup.snapshots import SNAPSHOT_SCHEMAS
from kgv_assets.defs.backups.assets import SNAPSHOT_KEY
from kgv_assets_tests.backup.conftest import kgv
from kgv_assets_tests.conftest import create_database, drop_database, run_full_migration

pytestmark = pytest.mark.slow
SCHEMA_KEY = dg.AssetKey(["migration", "schema_migrations"])


@dataclass
class Scenario:
    url: str
    instance: dg.DagsterInstance
    backups: Path
    before: dict[str, dumps.TableFigure]
    """Every table just before the second migration, as figured here."""
    applications: list[tuple]
    second: dg.ExecuteInProcessResult


def _applications(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT a::text FROM kgv.applications AS a ORDER BY id").fetchall()


def _change_the_source(path: Path) -> None:
    with sqlite3.connect(path) as db:
        first = db.execute("SELECT an_ID FROM Antrag ORDER BY an_ID LIMIT 1").fetchone()[0]
        db.execute("UPDATE Antrag SET an_Ort = 'Neustadt' WHERE an_ID = ?", (first,))
        db.execute("DELETE FROM Verlauf WHERE rowid IN (SELECT rowid FROM Verlauf LIMIT 5)")
        row = db.execute("SELECT * FROM Antrag WHERE an_ID = ?", (first,)).fetchone()
        names = [d[0] for d in db.execute("SELECT * FROM Antrag LIMIT 1").description]
        copy = dict(zip(names, row, strict=True)) | {"an_ID": str(uuid.uuid4())}
        marks = ", ".join("?" * len(copy))
        db.execute(f"INSERT INTO Antrag ({', '.join(copy)}) VALUES ({marks})", list(copy.values()))


@pytest.fixture(scope="module")
def scenario(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    folder = tmp_path_factory.mktemp("rollback")
    source = folder / "source.sqlite"
    shutil.copy(demo_source, source)
    url = create_database("kgv_rollback")
    try:
        with dg.instance_for_test() as instance, pytest.MonkeyPatch.context() as mp:
            mp.setenv("KGV_PG_URL", url)
            mp.setenv("KGV_SOURCE_URL", f"sqlite:///{source}")
            mp.setenv("KGV_SOURCE_SCHEMA", "")
            mp.setenv("KGV_BACKUP_DIR", str(folder / "backups"))
            first = run_full_migration(instance, f"sqlite:///{source}")
            event = first.asset_materializations_for_node("backups__pre_migration_snapshot")
            assert event[0].metadata["taken"].value is False, "an empty target: nothing to undo"
            before = dumps.figures_at(url, SNAPSHOT_SCHEMAS)
            applications = _applications(url)
            _change_the_source(source)
            second = run_full_migration(instance, f"sqlite:///{source}")
            yield Scenario(url, instance, folder / "backups", before, applications, second)
    finally:
        drop_database(url)


def _snapshot(scenario: Scenario) -> dumps.StoredDump:
    (found,) = dumps.catalogue(scenario.backups / "snapshots")
    return found


def test_the_second_migration_snapshots_the_target_first(scenario: Scenario) -> None:
    stored = _snapshot(scenario)
    assert stored.manifest.kind == "snapshot" and stored.manifest.run_id == scenario.second.run_id
    assert stored.manifest.tables == scenario.before, "the state before the second migration"
    assert stored.manifest.schemas == list(SNAPSHOT_SCHEMAS)
    order = [
        e.dagster_event.asset_key
        for e in scenario.instance.all_logs(
            scenario.second.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        )
        if e.dagster_event
    ]
    assert order.index(SNAPSHOT_KEY) < order.index(SCHEMA_KEY)
    after = dumps.figures_at(scenario.url, SNAPSHOT_SCHEMAS)
    changed = {t for t in after if after[t] != scenario.before.get(t)}
    assert "kgv.applications" in changed and "staging.Antrag" in changed


def test_a_rollback_is_refused_while_a_run_is_in_progress(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGV_PG_URL", scenario.url)
    monkeypatch.setenv("KGV_BACKUP_DIR", str(scenario.backups))
    run = scenario.instance.add_run(
        dg.DagsterRun(job_name="full_migration", status=dg.DagsterRunStatus.STARTED)
    )
    try:
        done = kgv("migrate", "rollback", "--yes")
    finally:
        scenario.instance.delete_run(run.run_id)
    assert done.exit_code == 1
    assert "refusing to roll back: 1 run(s) in progress" in done.output
    assert f"full_migration {run.run_id[:8]} STARTED" in done.output
    assert dumps.figures_at(scenario.url, ["kgv"]) != {
        k: v for k, v in scenario.before.items() if k.startswith("kgv.")
    }, "nothing was rolled back"


def test_a_rollback_without_a_snapshot_is_refused(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGV_PG_URL", scenario.url)
    monkeypatch.setenv("KGV_BACKUP_DIR", str(tmp_path / "empty"))
    done = kgv("migrate", "rollback", "--yes")
    assert done.exit_code == 1
    assert "refusing to roll back: no pre-migration snapshot in" in done.output
    assert done.output.strip().count("\n") == 0


def test_the_rollback_restores_every_table_and_is_recorded(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGV_PG_URL", scenario.url)
    monkeypatch.setenv("KGV_BACKUP_DIR", str(scenario.backups))
    stored = _snapshot(scenario)
    done = kgv("migrate", "rollback", "--yes", "--reason", "source changed by mistake")
    assert done.exit_code == 0, done.output
    assert (
        f"rolled back to {stored.name}" in done.output and "every content hash equal" in done.output
    )

    after = dumps.figures_at(scenario.url, SNAPSHOT_SCHEMAS)
    audit = after.pop("audit.log")
    assert after.pop("migration.rollbacks").rows == 1
    expected = dict(scenario.before)
    expected_audit = expected.pop("audit.log")
    assert expected.pop("migration.rollbacks").rows == 0
    assert after == expected, "every table's content hash equals the snapshot's"
    assert audit is not None and expected_audit is not None
    assert audit.rows == (expected_audit.rows or 0) + 1, "plus the rollback's own audit entry"
    assert _applications(scenario.url) == scenario.applications

    with psycopg.connect(scenario.url) as conn:
        recorded = conn.execute(
            "SELECT snapshot, snapshot_run_id, runs_undone, tables_restored, reason"
            " FROM migration.rollbacks"
        ).fetchone()
        logged = conn.execute(
            "SELECT operation, new_row->>'snapshot' FROM audit.log"
            " WHERE table_name = 'migration.rollbacks'"
        ).fetchall()
    assert recorded is not None
    assert recorded[0] == stored.name and recorded[1] == scenario.second.run_id
    assert scenario.second.run_id in recorded[2] and recorded[3] == len(stored.manifest.tables)
    assert recorded[4] == "source changed by mistake"
    assert logged == [("INSERT", stored.name)]

    report = kgv("report")
    assert "verdict: FAIL" not in report.output, report.output
    assert "INFO  rolled back at" in report.output and stored.name in report.output
