"""How kgv_assets connects to the target: TLS from the environment, errors in one line.

A connection error names the server and login, never the password.

Which login a part of the system uses is an environment variable each, falling back to
``KGV_PG_URL`` (the loader) where it is not set or names another database:
``KGV_PG_READER_URL`` (checks, report),
``KGV_PG_REVIEWER_URL`` (``kgv gdpr``), ``KGV_PG_OWNER_URL`` (``kgv schema apply``).
``KGV_PG_SSLROOTCERT`` is the CA file for ``sslmode=verify-full`` (libpq's ``sslrootcert``)
where the URL does not name one.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

LOADER_URL = "KGV_PG_URL"
READER_URL = "KGV_PG_READER_URL"
REVIEWER_URL = "KGV_PG_REVIEWER_URL"
OWNER_URL = "KGV_PG_OWNER_URL"
SSLROOTCERT = "KGV_PG_SSLROOTCERT"


class TargetConnectionError(RuntimeError):
    """The target refused or could not be reached; the message is one line, no password."""


def same_database(url: str, other: str) -> bool:
    """Whether two URLs name the same server, port and database (logins may differ)."""
    a, b = conninfo_to_dict(url), conninfo_to_dict(other)
    return all(
        str(a.get(k) or d) == str(b.get(k) or d)
        for k, d in (("host", "localhost"), ("port", 5432), ("dbname", ""))
    )


def login_url(variable: str, base: str) -> str:
    """The URL in ``variable`` where it names ``base``'s database, else ``base``.

    A login for another database than the pipeline's is ignored: the checks and the report
    must read what the pipeline wrote.
    """
    url = os.environ.get(variable)
    return url if url and same_database(url, base) else base


def url_for(variable: str) -> str:
    """The URL in ``variable`` (for ``KGV_PG_URL``'s database), else ``KGV_PG_URL``."""
    base = os.environ.get(LOADER_URL)
    if not base:
        url = os.environ.get(variable)
        if not url:
            raise TargetConnectionError(f"{variable} and {LOADER_URL} are not set (see README)")
        return url
    return login_url(variable, base)


def tls_options(url: str) -> dict[str, str]:
    """``sslrootcert`` from ``KGV_PG_SSLROOTCERT`` unless the URL names its own."""
    ca = os.environ.get(SSLROOTCERT)
    if ca and "sslrootcert" not in conninfo_to_dict(url):
        return {"sslrootcert": ca}
    return {}


def where(url: str) -> str:
    """``user@host:port/dbname``: safe for messages."""
    info = conninfo_to_dict(url)
    host = info.get("host") or "localhost"
    return f"{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


_HINTS = (
    ("no encryption", "the server accepts TLS connections only: use sslmode=verify-full"),
    ("certificate verify failed", f"the server's certificate is not signed by {SSLROOTCERT}"),
    ("server does not support SSL", "the server has no TLS: ask its operator"),
    ("password authentication failed", "wrong password for this login"),
)


def describe(error: BaseException, url: str) -> str:
    """One line: where, the server's or libpq's reason, and a hint where one is known."""
    info = conninfo_to_dict(url)
    text = " ".join(str(error).split())
    password = info.get("password")
    if password:
        text = text.replace(str(password), "***")
    # libpq repeats 'connection to server at ... failed:' per address; keep the last reason
    reason = text.rsplit("failed: ", 1)[-1] if "failed: " in text else text
    hint = next((h for needle, h in _HINTS if needle in text), None)
    line = f"cannot connect to PostgreSQL {where(url)}: {reason}"
    return f"{line} ({hint})" if hint else line


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    """``psycopg.connect`` with the TLS options; failures as ``TargetConnectionError``."""
    try:
        return psycopg.connect(url, **{**tls_options(url), **kwargs})
    except psycopg.OperationalError as error:
        raise TargetConnectionError(describe(error, url)) from None
