"""Where backups live and which environment variables configure them.

Everything lives under one folder: ``$KGV_BACKUP_DIR``, else ``backups/`` in the Dagster
instance's home (``$DAGSTER_HOME``), like the report folder::

    dumps/        logical dumps: <name>.dump[.age], <name>.manifest.json, <name>.roles.sql[.age],
                  <name>.verify.json (the last restore test)
    snapshots/    pre-migration snapshots, the same files (``kgv migrate rollback`` reads them)
    pgbackrest/   pgbackrest.conf, conf.d/cipher.conf (0600), log/, lock/, spool/ and, unless
                  $KGV_PGBACKREST_REPO puts it elsewhere, the repository repo/

Secrets are read from the environment when a command or run needs them, never written to a
log: the pgBackRest passphrase (``KGV_BACKUP_CIPHER_PASS``) and the path of the ``age``
identity that decrypts dumps (``KGV_BACKUP_AGE_IDENTITY``); the recipient (public key) dumps
are encrypted to is ``KGV_BACKUP_AGE_RECIPIENT``.
"""

from __future__ import annotations

import os
from pathlib import Path

BACKUP_DIR_ENV = "KGV_BACKUP_DIR"
REPO_ENV = "KGV_PGBACKREST_REPO"
CIPHER_PASS_ENV = "KGV_BACKUP_CIPHER_PASS"
AGE_RECIPIENT_ENV = "KGV_BACKUP_AGE_RECIPIENT"
AGE_IDENTITY_ENV = "KGV_BACKUP_AGE_IDENTITY"
SCRATCH_ENV = "KGV_BACKUP_SCRATCH"

DUMPS = "dumps"
SNAPSHOTS = "snapshots"
PGBACKREST = "pgbackrest"


class BackupConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def backup_directory(instance_root: str | Path | None, directory: str | None = None) -> Path:
    """The backup folder: ``directory``, ``$KGV_BACKUP_DIR``, or ``<DAGSTER_HOME>/backups``."""
    chosen = directory or os.environ.get(BACKUP_DIR_ENV)
    if chosen:
        return Path(chosen).absolute()
    if instance_root is None:
        raise BackupConfigError(f"{BACKUP_DIR_ENV} is not set and there is no DAGSTER_HOME")
    return Path(instance_root).absolute() / "backups"


def pgbackrest_home(root: Path) -> Path:
    """The folder of pgBackRest's configuration, logs and locks."""
    return root / PGBACKREST


def pgbackrest_repo(root: Path) -> Path:
    """The pgBackRest repository: ``$KGV_PGBACKREST_REPO``, else ``pgbackrest/repo``."""
    chosen = os.environ.get(REPO_ENV)
    return Path(chosen).absolute() if chosen else pgbackrest_home(root) / "repo"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by its owner only; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path
