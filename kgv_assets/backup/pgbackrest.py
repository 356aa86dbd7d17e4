"""Physical backups, WAL archiving and point-in-time restore with pgBackRest (Debian's package).

The project writes pgBackRest's configuration for the stanza ``kgv`` into
``<backup folder>/pgbackrest/``: ``pgbackrest.conf`` (the repository, zstd compression,
``repo1-cipher-type=aes-256-cbc``, retention of full and differential backups, log and lock
folders, the cluster's data folder, port and socket) and ``conf.d/cipher.conf`` holding the
passphrase from ``KGV_BACKUP_CIPHER_PASS`` — mode 0600, owned by the cluster's owner, because
the server's ``archive_command`` must read it unattended. The passphrase is never put on a
command line. Every command runs pgBackRest as the owner of the cluster's data folder (the
``postgres`` user when we are root).

``restore`` never touches the running cluster: it restores into a NEW, empty folder and starts
that copy on another port, with archiving off (it must not push WAL into the repository of
the cluster it was restored from), then waits until recovery reached the target and the copy
was promoted.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from kgv_assets.backup.cluster import (
    ClusterError,
    PrivateCluster,
    append_settings,
    as_owner,
    give_to,
    port_in_use,
)
from kgv_assets.backup.locations import CIPHER_PASS_ENV, BackupConfigError

STANZA = "kgv"
BACKUP_TYPES = ("full", "diff", "incr")
CIPHER_TYPE = "aes-256-cbc"
MIN_PASSPHRASE = 20
RETENTION_FULL = 2
"""Full backups kept (with the differential and incremental backups and WAL they need)."""
RETENTION_DIFF = 6
"""Differential backups kept per full backup."""


class PgBackRestError(RuntimeError):
    """pgBackRest failed or refused; the message is its own error line."""


class RestoreRefusedError(PgBackRestError):
    """A restore would overwrite something or collide with a running server."""


@dataclass(frozen=True)
class ClusterLocation:
    """The cluster pgBackRest backs up, as the server itself reports it."""

    data: Path
    port: int
    socket_dir: str
    server_version: str
    archive_mode: str
    wal_level: str
    archive_command: str


def locate_cluster(url: str) -> ClusterLocation:
    """Ask the server at ``url`` where its data lives (superuser or pg_read_all_settings)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT current_setting('data_directory'), current_setting('port')::int,"
            " split_part(current_setting('unix_socket_directories'), ',', 1),"
            " current_setting('server_version'), current_setting('archive_mode'),"
            " current_setting('wal_level'), current_setting('archive_command')"
        ).fetchone()
    assert row is not None
    data, port, sockets, version, mode, level, command = row
    return ClusterLocation(Path(data), port, sockets.strip(), version, mode, level, command)


def data_owner(data: Path) -> str | None:
    """The OS user pgBackRest must run as for ``data``: its owner when we are root, else us.

    Raises:
        BackupConfigError: we are neither root nor the owner of ``data``.
    """
    try:
        uid = data.stat().st_uid
    except PermissionError:
        uid = -1
    if os.geteuid() == 0:
        return pwd.getpwuid(uid).pw_name if uid > 0 else None
    if uid != os.geteuid():
        raise BackupConfigError(
            f"the data folder {data} belongs to another user: run this as that user "
            "(e.g. sudo -u postgres) or as root"
        )
    return None


def cipher_pass() -> str:
    """The repository passphrase from ``KGV_BACKUP_CIPHER_PASS``.

    Raises:
        BackupConfigError: not set or too short.
    """
    value = os.environ.get(CIPHER_PASS_ENV, "")
    if len(value) < MIN_PASSPHRASE:
        raise BackupConfigError(
            f"{CIPHER_PASS_ENV} must hold the repository passphrase (at least {MIN_PASSPHRASE} "
            "characters; e.g. `openssl rand -base64 48`, kept in the password safe)"
        )
    return value


def _write_owned(path: Path, text: str, mode: int, user: str | None) -> None:
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    partial.chmod(mode)
    give_to(partial, user)
    partial.replace(path)


@dataclass(frozen=True)
class BackupInfo:
    """One backup of the stanza, from ``pgbackrest info``."""

    label: str
    type: str
    started: datetime
    stopped: datetime
    size: int
    """Database size restored (bytes)."""
    repo_size: int
    """Bytes it takes in the repository (compressed, encrypted; only what this backup added)."""
    prior: str | None


@dataclass(frozen=True)
class VerifyResult:
    """What ``pgbackrest verify`` found."""

    ok: bool
    output: str
    """Its report; names each invalid file (no secrets are in it)."""
    bad_files: list[str]


class PgBackRest:
    """pgBackRest for the stanza ``kgv``, configured in ``home`` with its repository in ``repo``."""

    def __init__(self, home: Path, repo: Path) -> None:
        """Point at the configuration folder and the repository (nothing is written yet)."""
        self.home = home
        self.repo = repo

    @property
    def config(self) -> Path:
        """The main configuration file (no secrets in it)."""
        return self.home / "pgbackrest.conf"

    @property
    def include(self) -> Path:
        """The folder of included configuration (``cipher.conf``, 0600)."""
        return self.home / "conf.d"

    def configured(self) -> bool:
        """True when ``setup`` wrote the configuration."""
        return self.config.is_file()

    def _base(self) -> list[str]:
        program = shutil.which("pgbackrest")
        if not program:
            raise BackupConfigError(
                "pgbackrest is not installed (docker/install-system-packages.sh backup)"
            )
        return [program, f"--config={self.config}", f"--config-include-path={self.include}"]

    def archive_command(self) -> str:
        """The ``archive_command`` that pushes each WAL segment into the repository."""
        return " ".join(
            [*map(shlex.quote, self._base()), f"--stanza={STANZA}", "archive-push", "%p"]
        )

    def stanza_setting(self, name: str) -> str | None:
        """A setting of the ``[kgv]`` section of the configuration."""
        if not self.configured():
            return None
        section = None
        for line in self.config.read_text(encoding="utf-8").splitlines():
            if line.startswith("["):
                section = line.strip("[] ")
            elif section == STANZA and line.startswith(f"{name}="):
                return line.split("=", 1)[1]
        return None

    def owner(self) -> str | None:
        """The OS user pgBackRest runs as: the owner of the configured data folder."""
        data = self.stanza_setting("pg1-path")
        if data is None:
            raise BackupConfigError("pgBackRest is not set up: run `kgv backup physical setup`")
        return data_owner(Path(data))

    def write_config(
        self,
        cluster: ClusterLocation,
        user: str | None,
        *,
        retention_full: int = RETENTION_FULL,
        retention_diff: int = RETENTION_DIFF,
    ) -> None:
        """Write ``pgbackrest.conf`` and ``conf.d/cipher.conf`` for ``cluster``."""
        passphrase = cipher_pass()
        for folder in (self.home, self.include, self.repo, *self._work_dirs()):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            give_to(folder, user)
        log, lock, spool = self._work_dirs()
        lines = [
            "# Written by `kgv backup physical setup` (kgv_assets); rerun it instead of editing.",
            "[global]",
            f"repo1-path={self.repo}",
            f"repo1-cipher-type={CIPHER_TYPE}",
            "repo1-retention-full-type=count",
            f"repo1-retention-full={retention_full}",
            f"repo1-retention-diff={retention_diff}",
            "compress-type=zst",
            "compress-level=3",
            "start-fast=y",
            "archive-check=y",
            f"log-path={log}",
            f"lock-path={lock}",
            f"spool-path={spool}",
            "log-level-console=warn",
            "log-level-file=info",
            "",
            f"[{STANZA}]",
            f"pg1-path={cluster.data}",
            f"pg1-port={cluster.port}",
            *([f"pg1-socket-path={cluster.socket_dir}"] if cluster.socket_dir else []),
            "",
        ]
        _write_owned(self.config, "\n".join(lines), 0o640, user)
        secret = f"[global]\nrepo1-cipher-pass={passphrase}\n"
        _write_owned(self.include / "cipher.conf", secret, 0o600, user)

    def _work_dirs(self) -> tuple[Path, Path, Path]:
        return self.home / "log", self.home / "lock", self.home / "spool"

    def run(
        self, *args: str, user: str | None = None, timeout: float = 3600
    ) -> subprocess.CompletedProcess[str]:
        """Run ``pgbackrest --stanza=kgv ARGS`` as ``user``; raise on failure.

        Raises:
            PgBackRestError: its exit status was not 0 (the message is its error line).
        """
        env = dict(os.environ)
        if os.environ.get(CIPHER_PASS_ENV):
            env["PGBACKREST_REPO1_CIPHER_PASS"] = os.environ[CIPHER_PASS_ENV]
        command = as_owner([*self._base(), f"--stanza={STANZA}", *args], user)
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise PgBackRestError(_error_line(done.stderr or done.stdout, args[-1]))
        return done

    def stanza_create(self, user: str | None) -> None:
        """Create the stanza in the repository (idempotent)."""
        self.run("stanza-create", user=user)

    def check(self, user: str | None) -> None:
        """``pgbackrest check``: the configuration and that archiving reaches the repository."""
        self.run("check", user=user)

    def backup(self, kind: str) -> BackupInfo:
        """Take a ``full``, ``diff`` or ``incr`` backup; return it (expired ones are removed)."""
        if kind not in BACKUP_TYPES:
            raise PgBackRestError(
                f"unknown backup type {kind!r} (one of {', '.join(BACKUP_TYPES)})"
            )
        self.run(f"--type={kind}", "backup", user=self.owner())
        return self.backups()[-1]

    def info(self) -> dict:
        """``pgbackrest info --output=json`` for the stanza."""
        done = self.run("--output=json", "info", user=self.owner())
        found = json.loads(done.stdout)
        return found[0] if found else {}

    def backups(self) -> list[BackupInfo]:
        """The stanza's backups, oldest first."""
        return [
            BackupInfo(
                label=b["label"],
                type=b["type"],
                started=datetime.fromtimestamp(b["timestamp"]["start"], UTC),
                stopped=datetime.fromtimestamp(b["timestamp"]["stop"], UTC),
                size=int(b["info"]["size"]),
                repo_size=int(b["info"]["repository"]["delta"]),
                prior=b.get("prior"),
            )
            for b in self.info().get("backup", [])
        ]

    def verify(self) -> VerifyResult:
        """``pgbackrest verify``: checksums of every backup file and WAL segment in the repo.

        pgBackRest 2.45 exits 0 even when files are invalid; it names each one in an INFO
        line, so the console log level is raised to read them.
        """
        args = ("--log-level-console=info", "--output=text", "--verbose", "verify")
        try:
            done = self.run(*args, user=self.owner())
        except PgBackRestError as err:
            return VerifyResult(False, str(err), [])
        bad = _bad_files(done.stdout)
        # The report (--output=text) without the log lines around it (timestamped, indented).
        report = [
            ln for ln in done.stdout.splitlines() if not re.match(r"^\d{4}-\d\d-\d\d |^ {20,}", ln)
        ]
        text = "\n".join(report).strip()
        return VerifyResult(not bad and "status: ok" in text, text, bad)

    def restore(
        self,
        into: Path,
        port: int,
        *,
        target_time: datetime | None = None,
        restore_point: str | None = None,
        backup_set: str | None = None,
        socket_dir: Path | None = None,
        timeout: float = 1800,
    ) -> PrivateCluster:
        """Restore into the NEW folder ``into`` and start it on ``port``; return the cluster.

        With ``target_time``: recovery replays WAL up to that moment (point in time); with
        ``restore_point``: up to that named restore point (e.g. a pre-migration snapshot's
        ``kgv_pre_migration_<run id>``). With only ``backup_set``: exactly that backup's state
        (recovery stops where it became consistent). With none: the latest state archived.

        Raises:
            RestoreRefusedError: ``into`` is a running cluster's folder or not empty, or
                ``port`` is in use.
            PgBackRestError: pgBackRest or the restored server failed.
        """
        into = into.absolute()
        user = self.owner()
        source = Path(self.stanza_setting("pg1-path") or "")
        refuse_target(into, source, port)
        into.mkdir(parents=True, exist_ok=True, mode=0o700)
        give_to(into, user)
        args = [f"--pg1-path={into}", "--archive-mode=off"]
        if backup_set:
            args.append(f"--set={backup_set}")
        if target_time is not None and restore_point is not None:
            raise RestoreRefusedError("give a target time or a restore point, not both")
        if target_time is not None:
            stamp = target_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
            args += ["--type=time", f"--target={stamp}", "--target-action=promote"]
        elif restore_point is not None:
            args += ["--type=name", f"--target={restore_point}", "--target-action=promote"]
        elif backup_set:
            args += ["--type=immediate", "--target-action=promote"]
        self.run(*args, "restore", user=user)
        version = str(self.info().get("db", [{}])[-1].get("version", ""))
        cluster = PrivateCluster(
            into,
            port,
            socket_dir or into,
            int(version) if version.isdigit() else None,
            "127.0.0.1",
            user,
        )
        _own_settings(cluster)
        try:
            cluster.start(timeout=int(timeout))
        except ClusterError as err:
            raise _recovery_failed(str(err), into) from err
        _wait_promoted(cluster, timeout)
        return cluster


@dataclass(frozen=True)
class SetupResult:
    """What ``setup`` did."""

    config: Path
    changed: list[str]
    """Server settings set with ALTER SYSTEM (``name = value``)."""
    restart_needed: list[str]
    """Settings that take effect only after a restart; empty when the stanza is ready."""


def _can_write(folder: Path, user: str | None) -> bool:
    test = as_owner(["test", "-w", str(folder), "-a", "-x", str(folder)], user)
    return subprocess.run(test, capture_output=True, check=False).returncode == 0


def setup(url: str, home: Path, repo: Path) -> SetupResult:
    """Configure pgBackRest and archiving for the cluster at ``url``, create the stanza, check.

    Writes the configuration, sets ``archive_command`` (and ``archive_mode``/``wal_level``
    when they are off/minimal: those need a restart, after which ``setup`` runs again) with
    ALTER SYSTEM, reloads, then ``stanza-create`` and ``check`` (a WAL switch that must reach
    the repository).

    Raises:
        BackupConfigError: no passphrase, or the cluster's owner cannot write the folders.
        PgBackRestError: stanza-create or check failed.
    """
    cluster = locate_cluster(url)
    user = data_owner(cluster.data)
    pb = PgBackRest(home, repo)
    pb.write_config(cluster, user)
    for folder in (home, repo):
        if not _can_write(folder, user):
            raise BackupConfigError(
                f"the cluster's owner ({user or 'this user'}) cannot write {folder}: put "
                "KGV_BACKUP_DIR / KGV_PGBACKREST_REPO where it can"
            )
    wanted: dict[str, str] = {"archive_command": pb.archive_command()}
    restart = []
    if cluster.archive_mode == "off":
        wanted["archive_mode"] = "on"
        restart.append("archive_mode")
    if cluster.wal_level == "minimal":
        wanted["wal_level"] = "replica"
        restart.append("wal_level")
    changed = []
    with psycopg.connect(url, autocommit=True) as conn:
        current = {"archive_command": cluster.archive_command}
        for name, value in wanted.items():
            if current.get(name) != value:
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        sql.Identifier(name), sql.Literal(value)
                    )
                )
                changed.append(f"{name} = {value}")
        conn.execute("SELECT pg_reload_conf()")
    if restart:
        return SetupResult(pb.config, changed, restart)
    pb.stanza_create(user)
    pb.check(user)
    return SetupResult(pb.config, changed, [])


def refuse_target(into: Path, source: Path, port: int) -> None:
    """Refuse a restore over a cluster's folder, into a non-empty folder, or onto a used port.

    Raises:
        RestoreRefusedError: with the reason in one line.
    """
    if (into / "postmaster.pid").exists() or (
        source != Path() and into.resolve() == source.resolve()
    ):
        raise RestoreRefusedError(
            f"refusing to restore into {into}: it is the data folder of a cluster "
            "(restore into a new, empty folder)"
        )
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise RestoreRefusedError(f"refusing to restore into {into}: it is not empty")
    if port_in_use(port):
        raise RestoreRefusedError(f"refusing to start the restored cluster: port {port} is in use")


def _own_settings(cluster: PrivateCluster) -> None:
    """Give the restored folder its own port, socket and listen address.

    A cluster whose configuration lived elsewhere (Debian's /etc/postgresql) brings no
    pg_hba.conf along: a minimal one is written (peer locally, passwords over TCP).
    """
    conf = cluster.data / "postgresql.conf"
    if not (cluster.data / "pg_hba.conf").exists():
        hba = "local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n"
        _write_owned(cluster.data / "pg_hba.conf", hba, 0o600, cluster.user)
    append_settings(conf, {**cluster.own_settings(), "archive_mode": False}, cluster.user)


def _recovery_failed(log: str, into: Path) -> PgBackRestError:
    """The error for a restored cluster that did not come up (the files stay for a look)."""
    if "recovery ended before configured recovery target was reached" in log:
        return PgBackRestError(
            "recovery ended before reaching the target: the archived WAL does not reach it (a "
            "target time needs a transaction committed after it; commit one and run SELECT "
            "pg_switch_wal() on the source, or choose an earlier target); the restored files "
            f"stay in {into}"
        )
    return PgBackRestError(f"the restored cluster did not start: {log}; its files stay in {into}")


def _wait_promoted(cluster: PrivateCluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = cluster.url()
    while time.monotonic() < deadline:
        if not cluster.running():
            raise _recovery_failed(cluster.log_tail(), cluster.data)
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row and not row[0]:
                    return
        except psycopg.OperationalError:
            pass
        time.sleep(0.5)
    raise PgBackRestError(f"recovery did not finish within {timeout:.0f} s: {cluster.log_tail()}")


def _error_line(text: str, command: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln] or lines
    found = errors[0] if errors else "no output"
    found = re.sub(r"^(\S+ )?P\d+\s+ERROR:\s*", "", found)
    return f"pgbackrest {command}: {found}"


def _bad_files(text: str) -> list[str]:
    """Repository files ``pgbackrest verify`` reported as invalid or missing."""
    found = re.findall(
        r"INFO: (?:invalid [a-z ]+|file missing|[a-z ]*missing[a-z ]*) '([^']+)'", text
    )
    return sorted(set(found))
