"""Logical dumps with a manifest, and the restore test that proves a dump restores.

A dump is four files side by side, named ``<name>.*``:

- ``.dump`` (``.dump.age`` when encrypted): ``pg_dump -Fc`` of the schemas (``kgv``,
  ``migration``, ``audit``; a pre-migration snapshot adds ``staging``), data and schema
  (kind ``full``) or schema only (kind ``schema``);
- ``.roles.sql`` (``.age``): ``pg_dumpall --roles-only --no-role-passwords`` — roles are
  cluster-wide, so no dump holds them, and a restore onto a new cluster fails without them.
  Passwords are never written (set them again after a restore);
- ``.manifest.json``: what the dump holds, read in the dump's own snapshot (one
  REPEATABLE READ transaction exports its snapshot and pg_dump reads exactly that): per table
  its row count, a content hash (the sum of a 64-bit MD5 prefix of every row's text, so the
  order rows come back in does not matter) and a hash of its column definitions; the
  PostgreSQL version, the extensions to create first, the roles the objects name (owners,
  grantees), the file's size and SHA-256, the time and the seconds it took;
- ``.verify.json``: the result of the last restore test.

The manifest is written last: a dump without one is unfinished and ignored. Files are 0600,
folders 0700 — the dumps hold personal data. ``verify_dump`` checks the SHA-256 first (a
damaged file never reaches pg_restore), restores into a freshly initialised private cluster,
replays the roles and compares every table's count and hashes with the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from kgv_assets.backup import encryption
from kgv_assets.backup.cluster import scratch_cluster
from kgv_assets.backup.libpq import child_env, major_version, tool
from kgv_assets.backup.locations import private_dir
from kgv_assets.backup.pipes import Pipeline, PipelineError, Stage

FORMAT_VERSION = 1
DUMP_SCHEMAS = ("kgv", "migration", "audit")
KINDS = ("full", "schema")
CHUNK = 1 << 20
ROLE_LINE = re.compile(r"^CREATE ROLE (.+);$", re.MULTILINE)

# Settings that fix how values print as text, so a row hashes the same on every server.
TEXT_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
}
_TABLES = """
SELECT n.nspname, c.relname
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = ANY(%s) AND c.relkind = 'r'
 ORDER BY 1, 2
"""
_COLUMNS_HASH = """
SELECT md5(coalesce(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                               || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                               ', ' ORDER BY a.attnum), ''))
  FROM pg_attribute AS a
 WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
"""
_CONTENT = """
SELECT count(*),
       coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0)::text
  FROM {} AS t WHERE {}
"""
_ROLES = """
WITH ns AS (SELECT oid, nspowner, nspacl FROM pg_namespace WHERE nspname = ANY(%(schemas)s)),
objects (owner, acl) AS (
    SELECT nspowner, nspacl FROM ns
    UNION ALL SELECT relowner, relacl FROM pg_class WHERE relnamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT proowner, proacl FROM pg_proc WHERE pronamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT typowner, typacl FROM pg_type WHERE typnamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT NULL::oid, a.attacl FROM pg_attribute AS a
              JOIN pg_class AS c ON c.oid = a.attrelid
             WHERE c.relnamespace IN (SELECT oid FROM ns) AND a.attacl IS NOT NULL
    UNION ALL SELECT defaclrole, defaclacl FROM pg_default_acl
             WHERE defaclnamespace IN (SELECT oid FROM ns)
),
ids AS (
    SELECT owner AS id FROM objects WHERE owner IS NOT NULL
    UNION SELECT (aclexplode(acl)).grantee FROM objects WHERE acl IS NOT NULL
    UNION SELECT (aclexplode(acl)).grantor FROM objects WHERE acl IS NOT NULL
)
SELECT rolname FROM pg_roles WHERE oid IN (SELECT id FROM ids) ORDER BY 1
"""


class DumpError(RuntimeError):
    """A dump could not be taken, read or restored; the message says why in one line."""


class ChecksumMismatchError(DumpError):
    """A dump file's SHA-256 or size differs from its manifest: damaged or truncated."""


class MissingRolesError(DumpError):
    """The target cluster lacks roles the dumped objects belong or are granted to."""

    def __init__(self, roles: Sequence[str], hint: str) -> None:
        """Name the missing roles."""
        super().__init__(
            f"the dump needs roles the target cluster does not have: {', '.join(roles)}; {hint}"
        )
        self.roles = list(roles)


@dataclass(frozen=True)
class TableFigure:
    """One table as a dump holds it."""

    rows: int | None
    """Row count (None in a schema-only dump)."""
    content_hash: str | None
    """Order-independent hash of the rows' text (None in a schema-only dump)."""
    columns_hash: str
    """MD5 of the column names, types and NOT NULLs, in order."""


@dataclass
class Manifest:
    """What one dump holds (``<name>.manifest.json``)."""

    name: str
    kind: str
    """``full``, ``schema`` or ``snapshot`` (a pre-migration snapshot: full, with staging)."""
    created_at: str
    database: str
    server_version: str
    schemas: list[str]
    file: str
    size: int
    sha256: str
    encrypted: bool
    roles_file: str
    roles_sha256: str
    roles: list[str]
    extensions: list[dict[str, str]]
    tables: dict[str, TableFigure]
    seconds: float
    wal_lsn: str | None = None
    tags: list[str] = field(default_factory=list)
    run_id: str | None = None
    restore_point: str | None = None
    format_version: int = FORMAT_VERSION

    @property
    def created(self) -> datetime:
        """``created_at`` as an aware datetime."""
        return datetime.fromisoformat(self.created_at)

    @property
    def has_data(self) -> bool:
        """False for a schema-only dump."""
        return self.kind != "schema"

    def to_json(self) -> str:
        """The manifest as JSON text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse ``to_json``'s output."""
        data = json.loads(text)
        data["tables"] = {k: TableFigure(**v) for k, v in data["tables"].items()}
        return cls(**data)


@dataclass(frozen=True)
class Verification:
    """The result of one restore test (``<name>.verify.json``)."""

    verified_at: str
    ok: bool
    seconds: float
    tables: int
    rows: int
    problems: list[str]

    @property
    def verified(self) -> datetime:
        """``verified_at`` as an aware datetime."""
        return datetime.fromisoformat(self.verified_at)


@dataclass(frozen=True)
class StoredDump:
    """A dump in its folder, with its manifest and its last restore test."""

    folder: Path
    manifest: Manifest
    verification: Verification | None

    @property
    def name(self) -> str:
        """The dump's name (its files' common stem)."""
        return self.manifest.name

    @property
    def file(self) -> Path:
        """The dump file."""
        return self.folder / self.manifest.file

    @property
    def roles_file(self) -> Path:
        """The roles file beside it."""
        return self.folder / self.manifest.roles_file

    @property
    def manifest_path(self) -> Path:
        """The manifest."""
        return manifest_path(self.folder, self.name)

    @property
    def verify_path(self) -> Path:
        """Where the last restore test's result is kept."""
        return self.folder / f"{self.name}.verify.json"

    @property
    def verified_ok(self) -> bool:
        """True when the last restore test passed."""
        return self.verification is not None and self.verification.ok

    def paths(self) -> list[Path]:
        """Every file of this dump."""
        return [self.file, self.roles_file, self.verify_path, self.manifest_path]


def manifest_path(folder: Path, name: str) -> Path:
    """``<folder>/<name>.manifest.json``."""
    return folder / f"{name}.manifest.json"


# --- reading what a database holds -------------------------------------------------------


def set_text_settings(conn: psycopg.Connection) -> None:
    """Fix the text output of values for this transaction (see TEXT_SETTINGS)."""
    for name, value in TEXT_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def table_figures(
    conn: psycopg.Connection, schemas: Sequence[str], with_data: bool = True
) -> dict[str, TableFigure]:
    """Every table of ``schemas``: rows, content hash, columns hash (in the caller's snapshot).

    Materialized views are left out: a restore recomputes them from the tables.
    """
    set_text_settings(conn)
    out = {}
    for schema, name in conn.execute(_TABLES, (list(schemas),)).fetchall():
        ident = sql.Identifier(schema, name)
        qualified = ident.as_string(conn)
        row = conn.execute(_COLUMNS_HASH, (qualified,)).fetchone()
        columns = str(row[0]) if row else ""
        rows, content = content_figure(conn, ident) if with_data else (None, None)
        out[f"{schema}.{name}"] = TableFigure(rows, content, columns)
    return out


def content_figure(
    conn: psycopg.Connection, table: sql.Identifier, where: sql.Composable | None = None
) -> tuple[int, str]:
    """Row count and content hash of ``table`` (the rows matching ``where``, if given).

    The caller sets the text settings (``set_text_settings``) first.
    """
    condition = where if where is not None else sql.SQL("true")
    row = conn.execute(sql.SQL(_CONTENT).format(table, condition)).fetchone()
    assert row is not None
    return int(row[0]), f"{int(row[1]):x}"


def needed_roles(conn: psycopg.Connection, schemas: Sequence[str]) -> list[str]:
    """The roles the objects of ``schemas`` are owned by or granted to (or by)."""
    return [r[0] for r in conn.execute(_ROLES, {"schemas": list(schemas)}).fetchall()]


def extensions(conn: psycopg.Connection) -> list[dict[str, str]]:
    """The extensions of the database (but plpgsql), with their schema and version."""
    rows = conn.execute(
        "SELECT extname, extnamespace::regnamespace::text, extversion FROM pg_extension"
        " WHERE extname <> 'plpgsql' ORDER BY 1"
    ).fetchall()
    return [{"name": n, "schema": s, "version": v} for n, s, v in rows]


def present_schemas(conn: psycopg.Connection, schemas: Sequence[str]) -> list[str]:
    """Those of ``schemas`` that exist, in the given order."""
    found = {
        r[0]
        for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (list(schemas),)
        ).fetchall()
    }
    return [s for s in schemas if s in found]


# --- writing ---------------------------------------------------------------------------------


def sha256_of(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _private_file(path: Path) -> IO[bytes]:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")


def _write_private_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with _private_file(partial) as f:
        f.write(text.encode("utf-8"))
    partial.replace(path)


class _Sink(threading.Thread):
    """Copies a pipeline's output into a 0600 file while hashing it."""

    def __init__(self, source: IO[bytes], path: Path) -> None:
        super().__init__(daemon=True)
        self.source, self.path = source, path
        self.digest, self.size = hashlib.sha256(), 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with _private_file(self.path) as out:
                while chunk := self.source.read(CHUNK):
                    self.digest.update(chunk)
                    self.size += len(chunk)
                    out.write(chunk)
        except BaseException as err:  # reported by the caller
            self.error = err


def _write_through(stages: list[Stage], path: Path) -> tuple[str, int]:
    """Run ``stages`` and write their output to ``path``; return its SHA-256 and size."""
    pipeline = Pipeline(stages)
    assert pipeline.stdout is not None
    sink = _Sink(pipeline.stdout, path)
    sink.start()
    sink.join()
    pipeline.wait()
    if sink.error is not None:
        raise DumpError(f"writing {path.name} failed: {sink.error}")
    return sink.digest.hexdigest(), sink.size


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _free_name(folder: Path, base: str) -> str:
    name, n = base, 1
    while any(folder.glob(f"{name}.*")):
        n += 1
        name = f"{base}-{n}"
    return name


def take_dump(
    url: str,
    folder: Path,
    kind: str = "full",
    *,
    schemas: Sequence[str] = DUMP_SCHEMAS,
    recipients: Sequence[str] = (),
    tags: Sequence[str] = (),
    prefix: str = "kgv",
    run_id: str | None = None,
    restore_point: str | None = None,
) -> StoredDump:
    """Dump ``schemas`` of the database at ``url`` into ``folder``; return the stored dump.

    Args:
        url: libpq URL of the database (its password goes to pg_dump in the environment).
        folder: Where the files go (created 0700).
        kind: ``full`` (schema and data) or ``schema``; ``snapshot`` is a full dump made
            before a migration (``kgv_assets.backup.snapshots``).
        schemas: The schemas to dump; those that do not exist are left out.
        recipients: age public keys; when given, the dump and roles files are encrypted.
        tags: Labels kept in the manifest (``archive``: retention keeps it forever).
        prefix: The name's beginning (``<prefix>_<kind>_<UTC time>``).
        run_id: The Dagster run that took it, if any.
        restore_point: The named WAL restore point created with it, if any.

    Raises:
        DumpError: the database has none of the schemas, or a program failed.
    """
    if kind not in (*KINDS, "snapshot"):
        raise DumpError(f"unknown dump kind {kind!r} (one of: {', '.join(KINDS)})")
    private_dir(folder)
    started = time.perf_counter()
    now = datetime.now(UTC)
    name = _free_name(folder, f"{prefix}_{kind}_{_stamp(now)}")
    suffix = encryption.SUFFIX if recipients else ""
    dump_file, roles_file = f"{name}.dump{suffix}", f"{name}.roles.sql{suffix}"
    partials = [folder / f"{dump_file}.partial", folder / f"{roles_file}.partial"]
    env = child_env(url)
    encrypt = [Stage("age", encryption.encrypt_command(list(recipients)))] if recipients else []
    try:
        with psycopg.connect(url) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            present = present_schemas(conn, schemas)
            if not present:
                raise DumpError(
                    f"database {conn.info.dbname} has none of the schemas {', '.join(schemas)}"
                )
            row = conn.execute(
                "SELECT pg_export_snapshot(), current_setting('server_version'),"
                " current_database(),"
                " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END"
            ).fetchone()
            assert row is not None
            snapshot, server_version, database, lsn = row
            dump_cmd = [
                tool("pg_dump"),
                "--format=custom",
                f"--snapshot={snapshot}",
                *(f"--schema={s}" for s in present),
                *(["--schema-only"] if kind == "schema" else []),
            ]
            pipeline = Pipeline([Stage("pg_dump", dump_cmd, env), *encrypt])
            assert pipeline.stdout is not None
            sink = _Sink(pipeline.stdout, partials[0])
            sink.start()
            try:
                figures = table_figures(conn, present, with_data=kind != "schema")
                roles = needed_roles(conn, present)
                exts = extensions(conn)
            except BaseException:
                pipeline.kill()
                raise
            finally:
                sink.join()
            pipeline.wait()
            if sink.error is not None:
                raise DumpError(f"writing {dump_file} failed: {sink.error}")
        roles_cmd = [tool("pg_dumpall"), "--roles-only", "--no-role-passwords", "-l", database]
        roles_sha, _ = _write_through([Stage("pg_dumpall", roles_cmd, env), *encrypt], partials[1])
    except PipelineError as err:
        for p in partials:
            p.unlink(missing_ok=True)
        raise DumpError(str(err)) from err
    except BaseException:
        for p in partials:
            p.unlink(missing_ok=True)
        raise
    manifest = Manifest(
        name=name,
        kind=kind,
        created_at=now.isoformat(timespec="seconds"),
        database=database,
        server_version=server_version,
        schemas=present,
        file=dump_file,
        size=sink.size,
        sha256=sink.digest.hexdigest(),
        encrypted=bool(recipients),
        roles_file=roles_file,
        roles_sha256=roles_sha,
        roles=roles,
        extensions=exts,
        tables=figures,
        seconds=round(time.perf_counter() - started, 3),
        wal_lsn=lsn,
        tags=sorted(set(tags)),
        run_id=run_id,
        restore_point=restore_point,
    )
    partials[0].replace(folder / dump_file)
    partials[1].replace(folder / roles_file)
    _write_private_text(manifest_path(folder, name), manifest.to_json())
    return StoredDump(folder, manifest, None)


# --- the catalogue ---------------------------------------------------------------------------


def load(folder: Path, name: str) -> StoredDump:
    """The dump ``name`` in ``folder``.

    Raises:
        DumpError: it has no (readable) manifest.
    """
    path = manifest_path(folder, name)
    if not path.is_file():
        raise DumpError(f"no manifest for {name} in {folder} (unfinished or not a dump)")
    try:
        manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError) as err:
        raise DumpError(f"{path.name}: unreadable manifest ({err})") from err
    verify = folder / f"{name}.verify.json"
    verification = None
    if verify.is_file():
        verification = Verification(**json.loads(verify.read_text(encoding="utf-8")))
    return StoredDump(folder, manifest, verification)


def catalogue(folder: Path) -> list[StoredDump]:
    """Every finished dump in ``folder``, newest first."""
    if not folder.is_dir():
        return []
    names = [p.name.removesuffix(".manifest.json") for p in folder.glob("*.manifest.json")]
    dumps = [load(folder, n) for n in names]
    return sorted(dumps, key=lambda d: (d.manifest.created_at, d.name), reverse=True)


def resolve(reference: str, folders: Sequence[Path]) -> StoredDump:
    """The dump a user named: a path to any of its files, or its name in one of ``folders``.

    Raises:
        DumpError: nothing matches.
    """
    path = Path(reference)
    stem = path.name
    for suffix in (".age", ".dump", ".manifest.json", ".roles.sql", ".verify.json"):
        stem = stem.removesuffix(suffix)
    if path.parent != Path() and path.exists():
        return load(path.parent.absolute(), stem)
    for folder in folders:
        if manifest_path(folder, stem).is_file():
            return load(folder, stem)
    raise DumpError(f"no dump {reference!r} (give its file or a name from `kgv backup list`)")


def remove(stored: StoredDump) -> None:
    """Delete a dump's files (the manifest last)."""
    for path in stored.paths():
        path.unlink(missing_ok=True)


def set_tags(stored: StoredDump, tags: Sequence[str]) -> StoredDump:
    """Rewrite the manifest with ``tags``."""
    stored.manifest.tags = sorted(set(tags))
    _write_private_text(stored.manifest_path, stored.manifest.to_json())
    return load(stored.folder, stored.name)


def record_verification(stored: StoredDump, result: Verification) -> StoredDump:
    """Keep ``result`` as the dump's last restore test."""
    _write_private_text(stored.verify_path, json.dumps(asdict(result), indent=2) + "\n")
    return load(stored.folder, stored.name)


# --- restoring -------------------------------------------------------------------------------


def check_files(stored: StoredDump) -> None:
    """Compare the dump's and roles file's SHA-256 and size with the manifest.

    Raises:
        ChecksumMismatchError: a file is missing, truncated or altered.
    """
    m = stored.manifest
    for path, expected, size in (
        (stored.file, m.sha256, m.size),
        (stored.roles_file, m.roles_sha256, None),
    ):
        if not path.is_file():
            raise ChecksumMismatchError(f"{path.name} is missing")
        found, found_size = sha256_of(path)
        if found != expected:
            what = f"{found_size} bytes, manifest says {size}" if size is not None else "altered"
            raise ChecksumMismatchError(
                f"{path.name}: sha256 does not match the manifest ({what}; truncated or "
                "damaged) — not restored"
            )


@contextmanager
def _plain(stored: StoredDump, path: Path, identity: Path | None) -> Iterator[Any]:
    """The plaintext of ``path`` as a readable pipe (decrypted on the fly when encrypted)."""
    if not stored.manifest.encrypted:
        with path.open("rb") as f:
            yield f
        return
    key = identity or encryption.identity_from_env()
    pipeline = Pipeline([Stage("age", encryption.decrypt_command(key, path))])
    try:
        yield pipeline.stdout
    except BaseException:
        pipeline.kill()
        raise
    finally:
        if pipeline.stdout is not None:
            pipeline.stdout.close()
    try:
        pipeline.wait()
    except PipelineError as err:
        raise DumpError(encryption.explain_decrypt_failure(path.name, err.stderr)) from err


def decrypt_to(stored: StoredDump, out: Path, identity: Path | None = None) -> None:
    """Write the plaintext dump to ``out`` (0600), after checking its SHA-256."""
    check_files(stored)
    with _plain(stored, stored.file, identity) as source, _private_file(out) as target:
        shutil.copyfileobj(source, target, CHUNK)


def roles_script(stored: StoredDump, identity: Path | None = None) -> str:
    """The roles file as SQL that creates only the roles a cluster lacks."""
    with _plain(stored, stored.roles_file, identity) as source:
        text = source.read().decode("utf-8")
    return ROLE_LINE.sub(
        r"DO $kgv$ BEGIN CREATE ROLE \1; EXCEPTION WHEN duplicate_object THEN NULL; END $kgv$;",
        text,
    )


def _psql(url: str, text: str, what: str) -> None:
    """Run the SQL ``text`` with psql in one transaction; stop at the first error."""
    command = [tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"]
    done = subprocess.run(
        command, input=text.encode("utf-8"), env=child_env(url), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise DumpError(f"{what} failed: {_last_error(done.stderr)}")


def _last_error(stderr: bytes | str) -> str:
    text = stderr.decode("utf-8", errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "FATAL" in ln] or lines
    return errors[0] if errors else "no error output"


def missing_roles(url: str, roles: Sequence[str]) -> list[str]:
    """Those of ``roles`` the cluster at ``url`` does not have."""
    with psycopg.connect(url) as conn:
        have = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles").fetchall()}
    return [r for r in roles if r not in have]


def replay_roles(url: str, stored: StoredDump, identity: Path | None = None) -> None:
    """Create the roles of the dump's roles file that the cluster at ``url`` lacks."""
    _psql(url, roles_script(stored, identity), "replaying the roles")


def create_extensions(url: str, stored: StoredDump) -> None:
    """Create the extensions the dump's schemas need (before its objects are restored)."""
    with psycopg.connect(url, autocommit=True) as conn:
        available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions")}
        for ext in stored.manifest.extensions:
            if ext["name"] not in available:
                raise DumpError(
                    f"extension {ext['name']} is not installed for this PostgreSQL "
                    f"(the dump was taken with {ext['name']} {ext['version']})"
                )
            conn.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}").format(
                    sql.Identifier(ext["name"]), sql.Identifier(ext["schema"])
                )
            )


def load_dump(
    url: str,
    stored: StoredDump,
    identity: Path | None = None,
    before: str = "",
    after: str = "",
) -> None:
    """Restore the dump into the database at ``url`` in ONE transaction.

    ``pg_restore`` turns the archive into SQL and psql runs it between ``before`` (e.g.
    dropping the schemas being replaced) and ``after`` (e.g. recording the restore) in a single
    transaction: it all happens, or nothing does.
    """
    restore = Stage("pg_restore", [tool("pg_restore"), "--file=-"])
    psql = Stage(
        "psql",
        [tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"],
        child_env(url),
    )
    with _plain(stored, stored.file, identity) as source:
        pipeline = Pipeline([restore], stdin=source)
        runner = subprocess.Popen(
            psql.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dict(psql.env or {}),
        )
        assert runner.stdin is not None and pipeline.stdout is not None
        errors: list[bytes] = []
        reader = threading.Thread(
            target=lambda: errors.append(runner.stderr.read() if runner.stderr else b""),
            daemon=True,
        )
        reader.start()
        try:
            runner.stdin.write(before.encode("utf-8") + b"\n")
            shutil.copyfileobj(pipeline.stdout, runner.stdin, CHUNK)
            runner.stdin.write(b"\n" + after.encode("utf-8"))
            runner.stdin.close()
        except BrokenPipeError:
            pass  # psql stopped at an error: reported below
        code = runner.wait()
        reader.join()
        pipeline.stdout.close()
        try:
            pipeline.wait()
        except PipelineError as err:
            if code == 0:
                raise DumpError(str(err)) from err
        if code != 0:
            raise DumpError(f"restore failed, nothing was changed: {_last_error(b''.join(errors))}")


def compare(expected: dict[str, TableFigure], found: dict[str, TableFigure]) -> list[str]:
    """What differs between two sets of table figures (empty: equal)."""
    problems = [f"{t}: missing" for t in sorted(expected.keys() - found.keys())]
    problems += [f"{t}: not in the manifest" for t in sorted(found.keys() - expected.keys())]
    for t in sorted(expected.keys() & found.keys()):
        e, f = expected[t], found[t]
        if e.columns_hash != f.columns_hash:
            problems.append(f"{t}: columns differ")
        if e.rows is not None and e.rows != f.rows:
            problems.append(f"{t}: {f.rows} rows, manifest says {e.rows}")
        elif e.content_hash is not None and e.content_hash != f.content_hash:
            problems.append(f"{t}: same row count, different content")
    return problems


def figures_at(url: str, schemas: Sequence[str], with_data: bool = True) -> dict[str, TableFigure]:
    """``table_figures`` of the database at ``url`` in one read-only snapshot."""
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        return table_figures(conn, schemas, with_data)


def verify_dump(
    stored: StoredDump, *, with_roles: bool = True, identity: Path | None = None
) -> Verification:
    """The restore test: SHA-256, then a restore into a fresh private cluster, then compare.

    Raises:
        ChecksumMismatchError: the files differ from the manifest (nothing was restored).
        MissingRolesError: without the roles replayed, the cluster lacks roles the dump needs.
        DumpError: the restore failed.
    """
    started = time.perf_counter()
    check_files(stored)
    m = stored.manifest
    with scratch_cluster("kgv-verify-", major=major_version(m.server_version)) as cluster:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(m.database)))
        url = cluster.url(m.database)
        if with_roles:
            replay_roles(url, stored, identity)
        missing = missing_roles(url, m.roles)
        if missing:
            raise MissingRolesError(
                missing, f"replay {stored.roles_file.name} (saved beside the dump) first"
            )
        create_extensions(url, stored)
        load_dump(url, stored, identity)
        found = figures_at(url, m.schemas, m.has_data)
    problems = compare(m.tables, found)
    return Verification(
        verified_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ok=not problems,
        seconds=round(time.perf_counter() - started, 3),
        tables=len(found),
        rows=sum(f.rows or 0 for f in found.values()),
        problems=problems,
    )
