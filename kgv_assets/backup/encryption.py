"""Encryption of dumps at rest with ``age`` (Debian's package), to a recipient's public key.

Dumps hold personal data. With ``KGV_BACKUP_AGE_RECIPIENT`` set (one or more ``age1…`` public
keys, separated by commas or spaces) every dump and its roles file are encrypted while they
are written: pg_dump's output goes through ``age`` before it reaches the disk, so no plaintext
copy ever exists there. Only the recipient's private key (an identity file, path in
``KGV_BACKUP_AGE_IDENTITY``, mode 0600, kept off the backup storage) decrypts them: the
machine that takes the backups needs only the public key.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

from kgv_assets.backup.locations import AGE_IDENTITY_ENV, AGE_RECIPIENT_ENV, BackupConfigError

SUFFIX = ".age"
MAGIC = b"age-encryption.org/v1\n"
_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")


class DecryptError(RuntimeError):
    """A file could not be decrypted (wrong key, no key, not an age file)."""


def age_program() -> str:
    """The path of ``age``."""
    found = shutil.which("age")
    if not found:
        raise BackupConfigError(
            "age is not installed (docker/install-system-packages.sh backup installs it)"
        )
    return found


def recipients_from_env() -> list[str]:
    """The public keys of ``KGV_BACKUP_AGE_RECIPIENT`` (empty: dumps are not encrypted).

    Raises:
        BackupConfigError: a value is not an age X25519 public key.
    """
    raw = os.environ.get(AGE_RECIPIENT_ENV, "")
    keys = [k for k in re.split(r"[\s,]+", raw.strip()) if k]
    bad = [k for k in keys if not _RECIPIENT.match(k)]
    if bad:
        raise BackupConfigError(
            f"{AGE_RECIPIENT_ENV} must hold age public keys (age1…); "
            f"{len(bad)} value(s) are not (age-keygen -y IDENTITY prints the public key)"
        )
    return keys


def identity_from_env() -> Path:
    """The identity file of ``KGV_BACKUP_AGE_IDENTITY``, which must exist and be private.

    Raises:
        BackupConfigError: not set, missing, or readable by others.
    """
    raw = os.environ.get(AGE_IDENTITY_ENV)
    if not raw:
        raise BackupConfigError(
            f"the file is encrypted: set {AGE_IDENTITY_ENV} to the age identity file that "
            "decrypts it"
        )
    path = Path(raw)
    if not path.is_file():
        raise BackupConfigError(f"{AGE_IDENTITY_ENV}: no such file: {path}")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BackupConfigError(f"{AGE_IDENTITY_ENV}: {path} is readable by others (chmod 600)")
    return path


def encrypt_command(recipients: list[str]) -> list[str]:
    """``age`` encrypting stdin to stdout for ``recipients`` (public keys: fine in argv)."""
    return [age_program(), "--encrypt", *(a for r in recipients for a in ("-r", r))]


def decrypt_command(identity: Path, path: Path | None = None) -> list[str]:
    """``age`` decrypting ``path`` (or stdin) to stdout with the identity file ``identity``."""
    return [age_program(), "--decrypt", "-i", str(identity), *([str(path)] if path else [])]


def is_encrypted(path: Path) -> bool:
    """True when ``path`` starts with the age header."""
    with path.open("rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def explain_decrypt_failure(name: str, stderr: str) -> str:
    """One line for age's error on ``name`` (age's own words carry no key material)."""
    if "no identity matched" in stderr:
        return (
            f"cannot decrypt {name}: the identity in {AGE_IDENTITY_ENV} is not one of the "
            "recipients it was encrypted to (wrong key)"
        )
    if "header" in stderr:
        return f"cannot decrypt {name}: not an age-encrypted file, or its header is damaged"
    last = stderr.strip().splitlines()[0] if stderr.strip() else "age failed"
    return f"cannot decrypt {name}: {last.removeprefix('age: error: ')}"
