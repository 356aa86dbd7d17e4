"""monitoring/backup.sh against a database holding a real full migration.

`dump` writes a pg_dump -Fc archive of the schemas kgv, migration and audit with a manifest whose
row counts equal the database's own counts, and keeps only the newest N dumps; `verify` restores
the archive into a scratch database, finds every table's row count equal, and drops the scratch
database again; a manifest that disagrees with the archive makes `verify` fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from kgv_assets_tests.monitoring.conftest import MONITORING

pytestmark = pytest.mark.slow
BACKUP = MONITORING / "backup.sh"


def backup(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run backup.sh with KGV_PG_URL=url."""
    return subprocess.run(
        [str(BACKUP), *args],
        env={**os.environ, "KGV_PG_URL": url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def table_counts(url: str) -> dict[str, int]:
    """Row count of every table in the schemas kgv, migration and audit, counted here."""
    with psycopg.connect(url) as conn:
        names = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('kgv', 'migration', 'audit') AND c.relkind = 'r'"
        ).fetchall()
        return {
            f"{schema}.{table}": conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
            ).fetchone()[0]  # type: ignore[index]
            for schema, table in names
        }


def manifest_counts(manifest: Path) -> dict[str, int]:
    """The `rows` lines of a manifest."""
    lines = [line.split("\t") for line in manifest.read_text().splitlines()]
    return {name: int(n) for kind, name, n in lines if kind == "rows"}


def database_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


def test_dump_and_verify_round_trip(migrated_url: str, tmp_path: Path) -> None:
    done = backup(migrated_url, "dump", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (dump,) = tmp_path.glob("kgv_*.dump")
    assert re.fullmatch(r"kgv_\d{8}T\d{6}Z\.dump", dump.name)
    assert dump.stat().st_mode & 0o077 == 0, "backups hold personal data: owner only"
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    expected = table_counts(migrated_url)
    assert manifest_counts(dump.with_suffix(".manifest")) == expected
    assert expected["kgv.applications"] > 0 and expected["migration.rejected_rows"] > 0
    assert expected["audit.log"] > 0

    verified = backup(migrated_url, "verify", str(dump))
    assert verified.returncode == 0, verified.stderr
    assert "all counts equal" in verified.stdout
    assert f"{sum(expected.values())} rows" in verified.stdout
    scratch = re.search(r"restored into (\S+),", verified.stdout)
    assert scratch is not None
    assert not database_exists(migrated_url, scratch.group(1))


def test_verify_fails_when_the_counts_differ(migrated_url: str, tmp_path: Path) -> None:
    assert backup(migrated_url, "dump", str(tmp_path)).returncode == 0
    (dump,) = tmp_path.glob("kgv_*.dump")
    manifest = dump.with_suffix(".manifest")
    text = manifest.read_text()
    n = manifest_counts(manifest)["kgv.districts"]
    manifest.write_text(
        text.replace(f"rows\tkgv.districts\t{n}\n", f"rows\tkgv.districts\t{n + 1}\n")
    )

    verified = backup(migrated_url, "verify", str(dump))
    assert verified.returncode == 1
    assert f"rows\tkgv.districts\t{n + 1}" in verified.stderr
    assert f"rows\tkgv.districts\t{n}" in verified.stderr


def test_dump_keeps_only_the_newest(migrated_url: str, tmp_path: Path) -> None:
    made = []
    for _ in range(3):
        done = backup(migrated_url, "dump", str(tmp_path), "--keep", "2")
        assert done.returncode == 0, done.stderr
        made.append(re.search(r"^dump (\S+):", done.stdout, re.M).group(1))  # type: ignore[union-attr]
        time.sleep(1.1)  # one dump per second: the name is the time
    kept = sorted(p.name for p in tmp_path.iterdir())
    newest = sorted(Path(m).stem for m in made)[1:]
    assert kept == sorted([f"{s}.dump" for s in newest] + [f"{s}.manifest" for s in newest])


def test_dump_refuses_without_a_database(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BACKUP), "dump", str(tmp_path)],
        env={k: v for k, v in os.environ.items() if k != "KGV_PG_URL"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "KGV_PG_URL is not set" in done.stderr
    assert list(tmp_path.iterdir()) == []
