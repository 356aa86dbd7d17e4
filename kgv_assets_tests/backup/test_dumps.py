"""Logical dumps of a real migration: manifest, restore test, roles, checksums, encryption, pruning.

Against the session's shared full migration (read only). The manifest's row counts are compared
with counts queried here; ``kgv backup verify`` restores into a freshly initialised private
cluster (its own initdb, port and socket) with the roles replayed, and a restore done here by
hand into another fresh cluster is inspected independently (owners, grants, rows). Without the
roles the command names the missing ones; a truncated dump fails on its SHA-256 before any
cluster is created. Encrypted dumps carry no pg_dump header and no applicant's name, restore
with the right key and fail clearly with a wrong one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from kgv_assets.backup import dumps
from kgv_assets.backup.cluster import scratch_cluster
from kgv_assets.backup.libpq import tool
from kgv_assets.legacy.demo_data import KNOWN_APPLICANT
from kgv_assets_tests.backup.conftest import age_key, kgv
from kgv_assets_tests.conftest import Migrated

pytestmark = pytest.mark.slow
SCHEMAS = ("kgv", "migration", "audit")
APPLICANT = KNOWN_APPLICANT[1].encode("utf-8")


@pytest.fixture
def source(shared_migration: Migrated, monkeypatch: pytest.MonkeyPatch) -> Migrated:
    """The shared migration, with KGV_PG_URL pointing at it."""
    monkeypatch.setenv("KGV_PG_URL", shared_migration.url)
    return shared_migration


def counted(url: str) -> dict[str, int]:
    """Rows of every table of the three schemas (partitions, not their parents), counted here."""
    with psycopg.connect(url) as conn:
        names = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind = 'r'",
            (list(SCHEMAS),),
        ).fetchall()
        return {
            f"{s}.{t}": conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(s, t))
            ).fetchone()[0]  # type: ignore[index]
            for s, t in names
        }


def only_dump(folder: Path) -> dumps.StoredDump:
    (found,) = dumps.catalogue(folder)
    return found


def test_the_manifest_describes_the_dump(source: Migrated, backup_dir: Path) -> None:
    done = kgv("backup", "dump")
    assert done.exit_code == 0, done.output
    stored = only_dump(backup_dir / "dumps")
    m = stored.manifest
    assert {t: f.rows for t, f in m.tables.items()} == counted(source.url)
    assert m.tables["kgv.applications"].rows and m.tables["migration.rejected_rows"].rows
    assert (m.kind, m.schemas, m.encrypted) == ("full", list(SCHEMAS), False)
    assert m.server_version.startswith("15") or int(m.server_version.split(".")[0]) >= 15
    assert {"kgv_owner", "kgv_app", "kgv_readonly"} <= set(m.roles)
    assert {e["name"] for e in m.extensions} >= {"postgis", "pg_trgm"}

    data = stored.file.read_bytes()
    assert data[:5] == b"PGDMP" and len(data) == m.size
    assert hashlib.sha256(data).hexdigest() == m.sha256
    roles = stored.roles_file.read_text()
    assert "CREATE ROLE kgv_owner;" in roles and "PASSWORD" not in roles.upper()
    for path in [*stored.paths()[:2], stored.manifest_path]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert stat.S_IMODE((backup_dir / "dumps").stat().st_mode) == 0o700
    assert f"{m.size} bytes" in done.output and m.sha256 in done.output


def test_a_dump_restores_onto_a_fresh_cluster_with_its_roles(
    source: Migrated, backup_dir: Path
) -> None:
    stored = dumps.take_dump(source.url, backup_dir / "dumps")
    done = kgv("backup", "verify")
    assert done.exit_code == 0, done.output
    assert "counts and content hashes equal" in done.output
    assert json.loads(stored.verify_path.read_text())["ok"] is True

    # The same restore by hand, into another fresh cluster, inspected independently.
    with scratch_cluster("kgv-test-restore-") as cluster:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            assert conn.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'kgv%'"
            ).fetchone() == (0,), "a freshly initialised cluster"
            conn.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(stored.manifest.database))
            )
        url = cluster.url(stored.manifest.database)
        dumps.replay_roles(url, stored)
        dumps.create_extensions(url, stored)
        dumps.load_dump(url, stored)
        assert counted(url) == counted(source.url)
        with psycopg.connect(url) as conn:
            owner = conn.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'kgv'"
                " AND tablename = 'applications'"
            ).fetchone()
            assert owner == ("kgv_owner",)
            grants = conn.execute(
                "SELECT has_table_privilege('kgv_app', 'kgv.applications', 'INSERT'),"
                " has_table_privilege('kgv_readonly', 'kgv.applications', 'INSERT'),"
                " has_table_privilege('kgv_readonly', 'migration.reconciliation', 'SELECT')"
            ).fetchone()
            assert grants == (True, False, True)


def test_without_the_roles_the_command_names_the_missing_ones(
    source: Migrated, backup_dir: Path
) -> None:
    stored = dumps.take_dump(source.url, backup_dir / "dumps")
    done = kgv("backup", "verify", stored.name, "--without-roles")
    assert done.exit_code == 1
    assert (
        "roles the target cluster does not have: "
        "kgv_app, kgv_loader, kgv_owner, kgv_readonly, kgv_reviewer" in done.output
    )
    assert stored.roles_file.name in done.output
    assert not stored.verify_path.exists(), "a diagnosis, not a verdict on the dump"


def test_a_truncated_dump_fails_on_its_sha256_before_any_restore(
    source: Migrated, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = dumps.take_dump(source.url, backup_dir / "dumps")
    data = stored.file.read_bytes()
    stored.file.write_bytes(data[: len(data) // 2])
    # Any attempt to create a scratch cluster would fail on this folder: the error must be
    # the checksum's, so nothing was restored.
    monkeypatch.setenv("KGV_BACKUP_SCRATCH", str(backup_dir / "no" / "such" / "folder"))
    done = kgv("backup", "verify", str(stored.file))
    assert done.exit_code == 1
    assert "sha256 does not match the manifest" in done.output
    assert f"{len(data) // 2} bytes, manifest says {len(data)}" in done.output
    assert done.output.strip().count("\n") == 0, "one line"
    assert json.loads(stored.verify_path.read_text())["ok"] is False


def test_a_schema_dump_restores_the_schema_without_rows(source: Migrated, backup_dir: Path) -> None:
    assert kgv("backup", "dump", "--kind", "schema").exit_code == 0
    stored = only_dump(backup_dir / "dumps")
    assert stored.manifest.kind == "schema"
    assert all(f.rows is None for f in stored.manifest.tables.values())
    result = dumps.verify_dump(stored)
    assert result.ok, result.problems
    assert result.tables == len(counted(source.url)) and result.rows == 0


def _restore_script(archive: Path) -> bytes:
    return subprocess.run(
        [tool("pg_restore"), "--file=-", str(archive)], check=True, capture_output=True
    ).stdout


def test_encrypted_dumps(source: Migrated, backup_dir: Path, tmp_path: Path) -> None:
    right, wrong = age_key(tmp_path, "right"), age_key(tmp_path, "wrong")
    env = {"KGV_BACKUP_AGE_RECIPIENT": right.recipient}
    assert kgv("backup", "dump", env=env).exit_code == 0
    stored = only_dump(backup_dir / "dumps")
    assert stored.file.name.endswith(".dump.age") and stored.manifest.encrypted
    for path in (stored.file, stored.roles_file):
        data = path.read_bytes()
        assert data.startswith(b"age-encryption.org/v1\n")
        assert b"PGDMP" not in data and APPLICANT not in data and b"kgv_owner" not in data

    # The right key round-trips: the plaintext archive holds the applicant, and restores.
    plain = tmp_path / "plain.dump"
    done = kgv("backup", "decrypt", stored.name, "--out", str(plain),
               env={"KGV_BACKUP_AGE_IDENTITY": str(right.identity)})  # fmt: skip
    assert done.exit_code == 0, done.output
    assert plain.read_bytes()[:5] == b"PGDMP" and APPLICANT in _restore_script(plain)
    done = kgv("backup", "verify", env={"KGV_BACKUP_AGE_IDENTITY": str(right.identity)})
    assert done.exit_code == 0, done.output

    done = kgv("backup", "verify", env={"KGV_BACKUP_AGE_IDENTITY": str(wrong.identity)})
    assert done.exit_code == 1
    assert "cannot decrypt" in done.output and "wrong key" in done.output
    done = kgv("backup", "verify")
    assert done.exit_code == 1 and "set KGV_BACKUP_AGE_IDENTITY" in done.output


def _age(stored: dumps.StoredDump, days: int) -> None:
    stored.manifest.created_at = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    stored.manifest_path.write_text(stored.manifest.to_json())


def test_list_and_prune_follow_the_retention_policy(source: Migrated, backup_dir: Path) -> None:
    folder = backup_dir / "dumps"
    made = [dumps.take_dump(source.url, folder) for _ in range(4)]
    for stored, days in zip(made, (400, 390, 45, 1), strict=True):
        _age(stored, days)
    assert kgv("backup", "tag", made[1].name).exit_code == 0  # archive: kept forever

    listed = kgv("backup", "list")
    assert listed.exit_code == 0
    lines = {line.split()[0]: line for line in listed.output.splitlines()[1:] if "kgv_" in line}
    assert "prune (expired)" in lines[made[0].name]
    assert "keep (archive)" in lines[made[1].name] and "[archive]" in lines[made[1].name]
    assert "keep (weekly)" in lines[made[2].name]
    assert "keep (newest)" in lines[made[3].name]

    dry = kgv("backup", "prune", "--dry-run")
    assert f"would delete {made[0].name}" in dry.output and made[0].manifest_path.exists()
    done = kgv("backup", "prune")
    assert done.exit_code == 0 and "3 kept, 1 deleted" in done.output
    assert [d.name for d in dumps.catalogue(folder)] == [m.name for m in reversed(made[1:])]
    assert not any(folder.glob(f"{made[0].name}.*"))


def test_dump_refuses_without_a_database(backup_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KGV_PG_URL", raising=False)
    done = kgv("backup", "dump")
    assert done.exit_code == 1 and "KGV_PG_URL is not set" in done.output
    assert not backup_dir.exists() or not any(backup_dir.rglob("*.dump"))


def test_unknown_dump_names_are_one_line_errors(backup_dir: Path) -> None:
    done = kgv("backup", "verify", "kgv_full_19990101T000000Z")
    assert done.exit_code == 1 and "no dump" in done.output
    shutil.rmtree(backup_dir, ignore_errors=True)
    done = kgv("backup", "verify")
    assert done.exit_code == 1 and "no dumps in" in done.output
