"""The point-in-time-recovery drill with pgBackRest, as the README's Operations section walks it.

One private cluster for the module (its own initdb, port and socket; WAL archiving on), driven
by the operator's commands as real processes: ``kgv backup physical setup`` (configuration,
archive_command, stanza-create, check) and ``full`` → a demo migration at a small scale → row
A inserted, the time noted, row B inserted, a WAL switch → ``kgv backup restore --to T`` into
a NEW folder on another port: A is there, B is not, and the migration's accounting identities
hold in the restored copy; a named restore point works the same way. A pre-migration snapshot
names a WAL restore point (and is still taken by a login that may not create one). Restores
over a cluster, into a non-empty folder or onto a used port are refused in one line; a
differential and an incremental backup after further changes each restore to exactly their
state (every table's count and content hash); and one flipped byte in a file of the
(encrypted) repository makes verify fail, naming the file.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kgv_assets.backup.cluster import PrivateCluster, free_port, scratch_dir
from kgv_assets.backup.dumps import TableFigure, figures_at
from kgv_assets.backup.pgbackrest import PgBackRest
from kgv_assets.backup.snapshots import take_snapshot
from kgv_assets.reporting.collect import partition_figures
from kgv_assets.reporting.verdict import accounting_failures
from kgv_assets_tests.backup.conftest import kgv_process
from kgv_assets_tests.conftest import run_full_migration

pytestmark = pytest.mark.slow
SCHEMAS = ("staging", "kgv", "migration", "audit")


@dataclass
class Drill:
    root: Path
    source: PrivateCluster
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.source.url("kgv")

    def pgbackrest(self) -> PgBackRest:
        home = self.root / "backups" / "pgbackrest"
        return PgBackRest(home, home / "repo")

    def execute(self, *statements: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[call-overload]

    def figures(self, url: str | None = None) -> dict[str, TableFigure]:
        return figures_at(url or self.url, SCHEMAS)


def _wait_archived(url: str) -> None:
    """Switch to a new WAL segment and wait until the archiver has pushed the old one."""
    with psycopg.connect(url, autocommit=True) as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            if done and done[0] and done[0] >= segment:
                return
            time.sleep(0.2)
    pytest.fail(f"WAL segment {segment} was not archived within 60 s")


@pytest.fixture(scope="module")
def drill(demo_source: Path) -> Iterator[Drill]:
    root = scratch_dir("kgv-test-pitr-")
    source = PrivateCluster.create(
        root / "source",
        socket_dir=root / "socket",
        listen="127.0.0.1",
        settings={"archive_mode": True, "wal_level": "replica", "fsync": False},
    )
    env = {
        "KGV_BACKUP_DIR": str(root / "backups"),
        "KGV_BACKUP_CIPHER_PASS": secrets.token_urlsafe(32),
        "KGV_PG_URL": source.url("kgv"),
        "KGV_SOURCE_URL": f"sqlite:///{demo_source}",
        "KGV_SOURCE_SCHEMA": "",
    }
    source.start()
    try:
        with psycopg.connect(source.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE kgv")
        done = kgv_process("backup", "physical", "setup", env=env)
        assert done.returncode == 0, done.stderr
        assert "stanza kgv created and checked" in done.stdout
        done = kgv_process("backup", "physical", "full", env=env)
        assert done.returncode == 0, done.stderr
        with pytest.MonkeyPatch.context() as mp, dg.instance_for_test() as instance:
            for name, value in env.items():
                mp.setenv(name, value)
            assert run_full_migration(instance, env["KGV_SOURCE_URL"]).success
        yield Drill(root, source, env)
    finally:
        source.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def moment(drill: Drill) -> datetime:
    """Row A, the moment noted and a restore point named, row B, the WAL archived."""
    drill.execute("INSERT INTO kgv.event_types (code, label) VALUES ('PITA', 'row A')")
    time.sleep(0.5)
    with psycopg.connect(drill.url) as conn:
        noted = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
    time.sleep(0.5)
    drill.execute("SELECT pg_create_restore_point('kgv_drill_after_a')")
    drill.execute("INSERT INTO kgv.event_types (code, label) VALUES ('PITB', 'row B')")
    _wait_archived(drill.url)
    return noted


def restore(drill: Drill, into: Path, *args: str) -> tuple[PrivateCluster, str]:
    port = free_port()
    done = kgv_process("backup", "restore", *args, "--into", str(into), "--port", str(port),
                       env=drill.env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    cluster = PrivateCluster(into, port, into, listen="127.0.0.1")
    assert cluster.running()
    return cluster, done.stdout


def test_point_in_time_restore_into_a_new_cluster(drill: Drill, moment: datetime) -> None:
    into = drill.root / "pitr"
    cluster, said = restore(drill, into, "--to", moment.isoformat())
    try:
        assert f"running on 127.0.0.1:{cluster.port}" in said
        with psycopg.connect(cluster.url("kgv")) as conn:
            codes = {r[0] for r in conn.execute("SELECT code FROM kgv.event_types")}
            assert "PITA" in codes and "PITB" not in codes
            assert conn.execute("SHOW port").fetchone() == (str(cluster.port),)
            assert conn.execute("SHOW archive_mode").fetchone() == ("off",)
            partitions = partition_figures(conn)
        checked, failures = accounting_failures(partitions)
        assert checked >= 3 * len(partitions) > 0 and failures == []
        assert drill.source.running(), "the running cluster was never touched"
        with psycopg.connect(drill.url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM kgv.event_types WHERE code = 'PITB'"
            ).fetchone() == (1,)
    finally:
        cluster.stop()
        shutil.rmtree(into, ignore_errors=True)


def test_restore_to_a_named_restore_point(drill: Drill, moment: datetime) -> None:
    into = drill.root / "named"
    cluster, said = restore(drill, into, "--restore-point", "kgv_drill_after_a")
    try:
        assert "recovered to the restore point kgv_drill_after_a" in said
        with psycopg.connect(cluster.url("kgv")) as conn:
            codes = {r[0] for r in conn.execute("SELECT code FROM kgv.event_types")}
        assert "PITA" in codes and "PITB" not in codes
    finally:
        cluster.stop()
        shutil.rmtree(into, ignore_errors=True)


def test_a_snapshot_on_an_archiving_cluster_names_a_restore_point(drill: Drill) -> None:
    root = drill.root / "backups"
    taken = take_snapshot(drill.url, root, "run-a")
    assert taken.restore_point == "kgv_pre_migration_run-a" and taken.warning is None
    assert taken.stored is not None and taken.stored.manifest.restore_point == taken.restore_point
    # A login that may read everything but not create restore points still gets its snapshot.
    drill.execute(
        "CREATE ROLE kgv_reader LOGIN", "GRANT pg_read_all_data TO kgv_reader",
    )  # fmt: skip
    reader = drill.url.replace("postgres@", "kgv_reader@")
    limited = take_snapshot(reader, root, "run-b")
    assert limited.stored is not None and limited.restore_point is None
    assert "pg_create_restore_point" in (limited.warning or "")
    assert limited.stored.manifest.tables == taken.stored.manifest.tables


def test_restores_over_a_cluster_or_a_used_folder_or_port_are_refused(
    drill: Drill, moment: datetime
) -> None:
    used = drill.root / "used"
    used.mkdir()
    (used / "something").write_text("keep me")
    cases = [
        (drill.source.data, free_port(), "it is the data folder of a cluster"),
        (used, free_port(), "it is not empty"),
        (drill.root / "fresh", drill.source.port, f"port {drill.source.port} is in use"),
    ]
    for into, port, reason in cases:
        done = kgv_process("backup", "restore", "--to", moment.isoformat(), "--into", str(into),
                           "--port", str(port), env=drill.env)  # fmt: skip
        assert done.returncode == 1, done.stdout
        assert reason in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr
    assert (used / "something").read_text() == "keep me"
    assert not (drill.root / "fresh").exists() or not any((drill.root / "fresh").iterdir())
    done = kgv_process("backup", "restore", "--to", "2026-11-24 14:03:05", "--into",
                       str(drill.root / "fresh"), "--port", "1", env=drill.env)  # fmt: skip
    assert done.returncode == 2 and "give the time zone" in done.stderr


def test_a_target_beyond_the_archived_wal_fails_clearly(drill: Drill, moment: datetime) -> None:
    into = drill.root / "too-late"
    later = datetime.now(UTC) + timedelta(hours=1)
    done = kgv_process("backup", "restore", "--to", later.isoformat(), "--into", str(into),
                       "--port", str(free_port()), env=drill.env)  # fmt: skip
    assert done.returncode == 1
    assert "recovery ended before reaching the target" in done.stderr
    assert done.stderr.strip().count("\n") == 0
    shutil.rmtree(into, ignore_errors=True)


def test_differential_and_incremental_backups_restore_to_exactly_their_state(
    drill: Drill, moment: datetime
) -> None:
    drill.execute(
        "INSERT INTO kgv.event_types (code, label) VALUES ('DIFF', 'in the diff')",
        "UPDATE kgv.districts SET description = 'changed before the diff'"
        " WHERE id = (SELECT id FROM kgv.districts ORDER BY id LIMIT 1)",
    )
    assert kgv_process("backup", "physical", "diff", env=drill.env).returncode == 0
    at_diff = drill.figures()
    drill.execute(
        "INSERT INTO kgv.event_types (code, label) VALUES ('INCR', 'in the incr')",
        "DELETE FROM kgv.event_types WHERE code = 'PITA'",
    )
    done = kgv_process("backup", "physical", "incr", env=drill.env)
    assert done.returncode == 0 and "incr backup" in done.stdout
    at_incr = drill.figures()
    drill.execute("INSERT INTO kgv.event_types (code, label) VALUES ('LATE', 'after both')")
    assert at_diff != at_incr != drill.figures()

    info = kgv_process("backup", "info", env=drill.env)
    assert info.returncode == 0
    labels = {b.type: b.label for b in drill.pgbackrest().backups()}
    assert set(labels) == {"full", "diff", "incr"}
    for kind in ("full", "diff", "incr"):
        assert labels[kind] in info.stdout

    for kind, expected in (("diff", at_diff), ("incr", at_incr)):
        into = drill.root / f"restored-{kind}"
        cluster, _ = restore(drill, into, "--set", labels[kind])
        try:
            assert drill.figures(cluster.url("kgv")) == expected, kind
        finally:
            cluster.stop()
            shutil.rmtree(into, ignore_errors=True)


def test_one_flipped_byte_in_the_repository_fails_verify_naming_the_file(
    drill: Drill, moment: datetime
) -> None:
    done = kgv_process("backup", "physical", "verify", env=drill.env)
    assert done.returncode == 0, done.stdout + done.stderr
    full = next(b.label for b in drill.pgbackrest().backups() if b.type == "full")
    backup_dir = drill.pgbackrest().repo / "backup" / "kgv" / full
    victim = max((p for p in backup_dir.rglob("*") if p.is_file() and "pg_data" in p.parts),
                 key=lambda p: p.stat().st_size)  # fmt: skip
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))

    done = kgv_process("backup", "physical", "verify", env=drill.env)
    assert done.returncode == 1
    named = str(victim.relative_to(backup_dir.parent))
    assert named in done.stderr, done.stdout + done.stderr
