"""monitoring/backup.sh, now a thin wrapper over ``kgv backup``, against a real full migration.

``dump DIR`` writes a dump with its manifest and roles into ``DIR/dumps`` (through ``kgv
backup dump``) and applies the retention policy; ``verify`` restores the newest dump into a
fresh private cluster and compares every table; the old ``--keep`` is refused with a pointer to
the policy, and nothing runs without a database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kgv_assets.backup import dumps
from kgv_assets_tests.monitoring.conftest import MONITORING

pytestmark = pytest.mark.slow
BACKUP = MONITORING / "backup.sh"


def backup(url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    """Run backup.sh with KGV_PG_URL=url (unset when None) and the venv's kgv on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGV_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    if url is not None:
        env["KGV_PG_URL"] = url
    return subprocess.run(
        [str(BACKUP), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_dump_and_verify_through_the_wrapper(migrated_url: str, tmp_path: Path) -> None:
    done = backup(migrated_url, "dump", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (stored,) = dumps.catalogue(tmp_path / "dumps")
    assert f"dump {stored.file}" in done.stdout and "1 kept, 0 deleted" in done.stdout
    assert stored.manifest.tables["audit.log"].rows

    verified = backup(migrated_url, "verify", str(stored.file))
    assert verified.returncode == 0, verified.stderr
    assert "counts and content hashes equal" in verified.stdout
    assert dumps.load(stored.folder, stored.name).verified_ok


def test_the_old_keep_option_points_at_the_policy(migrated_url: str, tmp_path: Path) -> None:
    done = backup(migrated_url, "dump", "--keep")
    assert done.returncode == 1 and "kgv backup prune" in done.stderr


def test_dump_refuses_without_a_database(tmp_path: Path) -> None:
    done = backup(None, "dump", str(tmp_path))
    assert done.returncode == 1
    assert "KGV_PG_URL is not set" in done.stderr
    assert list(tmp_path.iterdir()) == []
