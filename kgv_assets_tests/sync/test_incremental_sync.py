"""Incremental sync end to end: one sensor tick after source changes, its runs, the result.

After a full migration, the SQLite source (a copy of the demo source) gets inserts, updates,
deletes (including an application with history, a file reference an application links to and a
clerk a login belongs to), rows moving to another year and a row in a year never seen before.
One tick of ``legacy_changes_sensor`` (Dagster's sensor testing API, a real instance) must
request exactly the affected partitions and register the new year; its runs, executed in
process with the requests' tags and selections, must leave the target exactly as a fresh full
migration of the changed source leaves it (every kgv table, the reporting views, staging, the
quarantine, the reconciliation and the recorded fingerprints), with the reconciliation and
content checks passing and the deletes in the audit trail. A tick after that requests nothing.
Then an operator's path on the same instance: after one more change, ``dagster job execute -j
incremental_migration`` reloads only the changed partitions, ``kgv migrate incremental`` finds
nothing left to do, and ``kgv migrate validate`` (every asset check, all partitions) passes.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from typing import LiteralString

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner

from kgv_assets.cli import main
from kgv_assets.definitions import defs
from kgv_assets.defs.automation.sync import legacy_changes_sensor
from kgv_assets.partitions import LEGACY_YEAR, RANGE_END_TAG, RANGE_START_TAG
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.sync.passes import PARENT_RUN_TAG, execute_in_process
from kgv_assets.sync.runs import REFRESH_JOB, STEP_TAG
from kgv_assets_tests.sync.conftest import MigratedCopy, snapshot

pytestmark = pytest.mark.slow


def _one(conn: psycopg.Connection, query: LiteralString) -> tuple:
    row = conn.execute(query).fetchone()
    assert row is not None, query
    return row


def _copy_row(db: sqlite3.Connection, table: str, key: str, key_value: str, **changes) -> None:
    cur = db.execute(f'SELECT * FROM "{table}" WHERE upper({key}) = upper(?)', (key_value,))
    names = [d[0] for d in cur.description]
    row = dict(zip(names, cur.fetchone(), strict=True)) | changes
    marks = ", ".join("?" for _ in row)
    db.execute(f'INSERT INTO "{table}" ({", ".join(row)}) VALUES ({marks})', list(row.values()))


def change_source(m: MigratedCopy) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Change the source; return the partitions each legacy table must reload, and some keys."""
    with psycopg.connect(m.url) as pg:
        app_with_history, app_year = _one(
            pg,
            "SELECT a.id::text, a.legacy_partition FROM kgv.applications a"
            " WHERE a.legacy_partition BETWEEN '2000' AND '2020' AND EXISTS"
            " (SELECT FROM kgv.application_history h WHERE h.application_id = a.id)"
            " ORDER BY a.id LIMIT 1",
        )
        linked_ref, ref_year = _one(
            pg,
            "SELECT f.id::text, f.legacy_partition FROM kgv.file_references f WHERE EXISTS"
            " (SELECT FROM kgv.applications a WHERE a.file_reference_id = f.id)"
            " ORDER BY f.id LIMIT 1",
        )
        (clerk,) = _one(
            pg, "SELECT user_id::text FROM kgv.identifiers WHERE user_id IS NOT NULL LIMIT 1"
        )
        (event,) = _one(
            pg,
            "SELECT h.id::text FROM kgv.application_history h WHERE h.legacy_partition = '2010'"
            " AND h.event_type = 'ANG' ORDER BY h.id LIMIT 1",
        )
    expected: dict[str, set[str]] = {}

    def rows(db: sqlite3.Connection, query: str) -> list[tuple[str, str]]:
        return db.execute(query).fetchall()

    with sqlite3.connect(m.source) as db:
        antrag = rows(
            db,
            "SELECT an_ID, substr(an_Bewerbungsdatum, 1, 4) FROM Antrag WHERE"
            " an_Bewerbungsdatum BETWEEN '2001-01-01' AND '2004-12-31' ORDER BY an_ID LIMIT 3",
        )
        verlauf = rows(
            db,
            "SELECT verl_ID, substr(verl_Datum, 1, 4) FROM Verlauf WHERE verl_Art = 'BEW'"
            " AND verl_Datum BETWEEN '2012-01-01' AND '2016-12-31' ORDER BY verl_ID LIMIT 3",
        )
        # Antrag: insert (a copy with a new ID), update, delete (with history), move a year on.
        _copy_row(db, "Antrag", "an_ID", antrag[0][0], an_ID=str(uuid.uuid4()).upper())
        db.execute("UPDATE Antrag SET an_Ort = 'Neustadt' WHERE an_ID = ?", (antrag[1][0],))
        db.execute("DELETE FROM Antrag WHERE upper(an_ID) = upper(?)", (app_with_history,))
        db.execute(
            "UPDATE Antrag SET an_Bewerbungsdatum = ? WHERE an_ID = ?",
            (f"{int(antrag[2][1]) + 1}-06-15 10:00:00.000", antrag[2][0]),
        )
        expected["Antrag"] = {antrag[0][1], antrag[1][1], app_year, antrag[2][1]}
        expected["Antrag"].add(str(int(antrag[2][1]) + 1))
        # Verlauf: update, delete, a move over several years (not adjacent), a new year.
        db.execute("UPDATE Verlauf SET verl_Kommentar = 'geprüft' WHERE verl_ID = ?",
                   (verlauf[0][0],))  # fmt: skip
        db.execute("DELETE FROM Verlauf WHERE verl_ID = ?", (verlauf[1][0],))
        db.execute(
            "UPDATE Verlauf SET verl_Datum = '2024-03-01 08:00:00.000'"
            " WHERE upper(verl_ID) = upper(?)",
            (event,),
        )
        _copy_row(
            db,
            "Verlauf",
            "verl_ID",
            verlauf[2][0],
            verl_ID=str(uuid.uuid4()).upper(),
            verl_Datum="2035-01-02 09:00:00.000",
        )
        expected["Verlauf"] = {verlauf[0][1], verlauf[1][1], "2010", "2024", "2035"}
        # A file reference an application links to, and a clerk with a login: deleted.
        db.execute("DELETE FROM Aktenzeichen WHERE upper(az_ID) = upper(?)", (linked_ref,))
        expected["Aktenzeichen"] = {ref_year}
        db.execute("DELETE FROM Personen WHERE upper(Pers_ID) = upper(?)", (clerk,))
        expected["Personen"] = {"all"}
    return expected, {"application": app_with_history, "clerk": clerk}


def requested_partitions(
    requests: list[dg.RunRequest], order: list[str]
) -> tuple[dict[str, set[str]], list[dg.RunRequest]]:
    """Per legacy table, the partitions the requests reload; and the requests without one."""
    out: dict[str, set[str]] = {}
    others = []
    for request in requests:
        if request.partition_key:
            keys = [request.partition_key]
        elif RANGE_START_TAG in request.tags:
            start = order.index(request.tags[RANGE_START_TAG])
            keys = order[start : order.index(request.tags[RANGE_END_TAG]) + 1]
        else:
            keys = ["all"]
        legacy = [k for k in request.asset_selection or [] if k.path[0] == "legacy"]
        for key in legacy:
            assert not set(keys) & out.get(key.path[1], set()), "each partition requested once"
            out.setdefault(key.path[1], set()).update(keys)
        if not legacy:
            others.append(request)
    return out, others


def tick(m: MigratedCopy, cursor: str | None = None) -> dg.SensorResult:
    with dg.build_sensor_context(
        instance=m.instance,
        cursor=cursor,
        definitions=defs(),
        resources={
            "legacy_source": LegacySourceResource(url=m.source_url),
            "postgres": PostgresResource(url=m.url),
        },
    ) as context:
        result = legacy_changes_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_a_tick_then_the_operators_commands_reload_exactly_the_changes(
    migrated_copy: MigratedCopy, fresh_migration
) -> None:
    instance = migrated_copy.instance
    assert not tick(migrated_copy).run_requests, "no change, no run (first tick, no cursor)"
    expected, keys = change_source(migrated_copy)

    result = tick(migrated_copy)
    new = [k for r in result.dynamic_partitions_requests or [] for k in r.partition_keys or []]
    assert new == ["2035"]
    instance.add_dynamic_partitions(LEGACY_YEAR, new)
    order = list(instance.get_dynamic_partitions(LEGACY_YEAR))
    requests = list(result.run_requests or [])
    requested, others = requested_partitions(requests, order)
    assert requested == expected
    # History and applications reference rows of any year: reloaded over all partitions, last.
    assert others == [requests[-1]]
    assert {k.to_user_string() for k in others[0].asset_selection or []} >= {
        "kgv/applications",
        "kgv/application_history",
    }
    assert (others[0].tags[RANGE_START_TAG], others[0].tags[RANGE_END_TAG]) == (
        order[0],
        order[-1],
    )
    assert all(r.tags["kgv/run_kind"] == "sync" for r in requests)

    job = defs().get_repository_def().get_job(REFRESH_JOB)
    results = list(execute_in_process(job, requests, instance))
    assert [r.success for r in results] == [True] * len(requests)
    evaluations = [e for r in results for e in r.get_asset_check_evaluations()]
    for suffix in ("_reconciled", "_matches_source"):
        checked = [e for e in evaluations if e.check_name.endswith(suffix)]
        assert checked and all(e.passed for e in checked), suffix

    assert snapshot(migrated_copy.url) == snapshot(fresh_migration(migrated_copy.source))

    with psycopg.connect(migrated_copy.url) as conn:
        deleted = conn.execute(
            "SELECT table_name, count(*) FROM audit.log WHERE operation = 'DELETE'"
            " AND (row_key->>'id' = %s OR old_row->>'application_id' = %s) GROUP BY 1",
            (keys["application"], keys["application"]),
        ).fetchall()
        assert dict(deleted).keys() == {"kgv.applications", "kgv.application_history"}
        unlinked = conn.execute(
            "SELECT count(*) FROM audit.log WHERE table_name = 'kgv.identifiers'"
            " AND operation = 'UPDATE' AND old_row->>'user_id' = %s",
            (keys["clerk"],),
        ).fetchone()
        assert unlinked and unlinked[0] > 0

    assert not tick(migrated_copy, result.cursor).run_requests, "nothing requested twice"
    assert not tick(migrated_copy).run_requests, "the target is up to date with the source"

    operators_sync_without_the_daemon(migrated_copy, fresh_migration)


def operators_sync_without_the_daemon(m: MigratedCopy, fresh_migration) -> None:
    """`dagster job execute -j incremental_migration`, then `kgv migrate incremental`.

    The changes (an application's city, a new history row in a new year) leave every
    application in place: the history's reload over all partitions is skipped, and the target
    still equals a fresh migration of the changed source.
    """
    instance = m.instance
    with psycopg.connect(m.url) as conn:
        app, year = _one(
            conn, "SELECT id::text, legacy_partition FROM kgv.applications ORDER BY id LIMIT 1"
        )
        before = set(conn.execute('SELECT DISTINCT _partition, _run_id FROM staging."Antrag"'))
    with sqlite3.connect(m.source) as db:
        db.execute("UPDATE Antrag SET an_Ort = 'Neustadt' WHERE upper(an_ID) = upper(?)", (app,))
        (event,) = db.execute("SELECT verl_ID FROM Verlauf ORDER BY verl_ID LIMIT 1").fetchone()
        _copy_row(db, "Verlauf", "verl_ID", event, verl_ID=str(uuid.uuid4()).upper(),
                  verl_Datum="2036-02-03 10:00:00.000")  # fmt: skip

    env = {**os.environ, "DAGSTER_HOME": instance.root_directory}
    cmd = ["dagster", "job", "execute", "-m", "kgv_assets.definitions", "-j"]
    done = subprocess.run(
        [*cmd, "incremental_migration"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]

    assert "2036" in instance.get_dynamic_partitions(LEGACY_YEAR)
    (parent,) = instance.get_run_records(dg.RunsFilter(job_name="incremental_migration"))
    reloads = instance.get_run_records(
        dg.RunsFilter(tags={PARENT_RUN_TAG: parent.dagster_run.run_id})
    )
    assert {r.dagster_run.tags.get("dagster/partition") for r in reloads} >= {year, "2036"}
    assert all(r.dagster_run.tags[STEP_TAG] == "partitions" for r in reloads), "no dependents run"
    with psycopg.connect(m.url) as conn:
        after = set(conn.execute('SELECT DISTINCT _partition, _run_id FROM staging."Antrag"'))
        assert {p for p, _ in after - before} == {year}, "only the changed partition was read"
        city = conn.execute("SELECT city FROM kgv.applications WHERE id = %s", (app,))
        assert city.fetchone() == ("Neustadt",)
    assert snapshot(m.url) == snapshot(fresh_migration(m.source))

    runs = len(instance.get_run_records())
    output = CliRunner().invoke(main, ["migrate", "incremental"], env=env)
    assert output.exit_code == 0, output.output
    assert "incremental_migration: run" in output.output and "succeeded" in output.output
    assert len(instance.get_run_records()) == runs + 1, "nothing changed: no reload run"

    output = CliRunner().invoke(main, ["migrate", "validate"], env=env)
    assert output.exit_code == 0, output.output  # every ERROR check passes after the sync
