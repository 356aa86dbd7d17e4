"""Running PostgreSQL's own programs (pg_dump, pg_restore, psql, initdb, pg_ctl) safely.

Connection settings go to a child process as libpq environment variables (``PGHOST``,
``PGPASSWORD``, ...), never in its arguments, where ``ps`` would show a password to every
user of the machine. The binaries are the newest installed major version (a newer pg_dump
reads an older server) unless a version is asked for.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

_ENV_OF = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "sslpassword": "PGSSLPASSWORD",
    "requiressl": "PGREQUIRESSL",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "channel_binding": "PGCHANNELBINDING",
    "service": "PGSERVICE",
}
PG_ROOT = Path("/usr/lib/postgresql")


class ToolMissingError(RuntimeError):
    """A PostgreSQL program is not installed."""


def child_env(url: str, dbname: str | None = None, base: dict[str, str] | None = None) -> dict:
    """The environment for a libpq program connecting like ``url`` (to ``dbname`` if given).

    Raises:
        ValueError: ``url`` holds a setting libpq has no environment variable for.
    """
    env = {
        k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("PG")
    }
    for key, value in conninfo_to_dict(url).items():
        if key not in _ENV_OF:
            raise ValueError(f"connection setting {key!r} cannot be passed to pg_dump/psql")
        env[_ENV_OF[key]] = str(value)
    if dbname is not None:
        env["PGDATABASE"] = dbname
    return env


def installed_versions() -> list[int]:
    """The PostgreSQL major versions whose server binaries are installed (Debian layout)."""
    if not PG_ROOT.is_dir():
        return []
    found = (p.name for p in PG_ROOT.iterdir() if (p / "bin" / "pg_ctl").exists())
    return sorted(int(v) for v in found if v.isdigit())


def bin_dir(major: int | None = None) -> Path:
    """The folder of PostgreSQL's programs: of ``major`` if installed, else the newest.

    Raises:
        ToolMissingError: no PostgreSQL programs are installed.
    """
    versions = installed_versions()
    if versions:
        chosen = major if major in versions else versions[-1]
        return PG_ROOT / str(chosen) / "bin"
    found = shutil.which("pg_ctl") or shutil.which("pg_dump")
    if found:
        return Path(found).resolve().parent
    raise ToolMissingError("PostgreSQL's programs (pg_ctl, pg_dump) are not installed")


def tool(name: str, major: int | None = None) -> str:
    """The path of the PostgreSQL program ``name`` (see ``bin_dir``)."""
    path = bin_dir(major) / name
    if not path.exists():
        raise ToolMissingError(f"{name} is not installed in {path.parent}")
    return str(path)


def major_version(server_version: str) -> int:
    """15 for '15.20 (Debian 15.20-0+deb12u1)'."""
    found = re.match(r"\d+", server_version)
    if not found:
        raise ValueError(f"not a PostgreSQL version: {server_version!r}")
    return int(found.group())


def safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    info = conninfo_to_dict(url)
    info.pop("password", None)
    return make_conninfo("", **{k: str(v) for k, v in info.items()})
