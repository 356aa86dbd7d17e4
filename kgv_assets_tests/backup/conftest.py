"""Fixtures of the backup tests: age key pairs, a backup folder, and the ``kgv`` command.

Nothing is mocked: keys come from ``age-keygen``, commands run as the operator runs them (in
process through click's runner where the output is all that matters, as subprocesses where a
real process matters).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kgv_assets.cli import main

KGV = str(Path(sys.executable).with_name("kgv"))


@dataclass(frozen=True)
class AgeKey:
    """An age identity file and its public key."""

    identity: Path
    recipient: str


def age_key(folder: Path, name: str) -> AgeKey:
    """A new age key pair in ``folder`` (identity file mode 0600)."""
    path = folder / f"{name}.key"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()
    path.chmod(0o600)
    return AgeKey(path, recipient)


def kgv(*args: str, env: dict[str, str] | None = None) -> Result:
    """``kgv ARGS`` in process (click's runner) with ``env`` added to the environment."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def kgv_process(
    *args: str, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """``kgv ARGS`` as a real process with exactly ``env`` over the current environment."""
    return subprocess.run(
        [KGV, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def backup_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """KGV_BACKUP_DIR pointed at a fresh folder for one test."""
    folder = tmp_path / "backups"
    monkeypatch.setenv("KGV_BACKUP_DIR", str(folder))
    for name in ("KGV_BACKUP_AGE_RECIPIENT", "KGV_BACKUP_AGE_IDENTITY", "KGV_BACKUP_SCRATCH"):
        monkeypatch.delenv(name, raising=False)
    return folder
