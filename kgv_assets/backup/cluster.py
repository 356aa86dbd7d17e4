"""Private PostgreSQL clusters: initialised here, on their own port and socket folder.

A restore test must restore into a cluster nobody else uses, freshly initialised (so nothing a
shared server happens to have — roles, extensions, settings — can hide what a backup lacks),
and a point-in-time restore must come up beside the running server, never over it. Both use
this: ``initdb`` as the cluster's owner (the ``postgres`` user when we are root: PostgreSQL
refuses to run as root), its settings appended to the cluster's own ``postgresql.conf``,
``pg_ctl`` to start and stop it.

Scratch clusters listen on a Unix socket in a folder only the owner can enter (no TCP), so
the personal data a restore test unpacks is reachable by nobody else on the machine.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from kgv_assets.backup.libpq import bin_dir
from kgv_assets.backup.locations import SCRATCH_ENV

SUPERUSER = "postgres"


class ClusterError(RuntimeError):
    """A private cluster could not be initialised, started or stopped."""


def cluster_owner() -> str | None:
    """The OS user clusters run as when we are root (``postgres``); None: the current user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError as err:
        raise ClusterError("running as root needs a 'postgres' user to run PostgreSQL") from err
    return SUPERUSER


def as_owner(command: list[str], user: str | None) -> list[str]:
    """``command`` run as ``user`` (``runuser``, environment kept), or as is for None."""
    return ["runuser", "-u", user, "--", *command] if user else command


def give_to(path: Path, user: str | None) -> None:
    """Make ``user`` own ``path`` (nothing to do for the current user)."""
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def scratch_dir(prefix: str) -> Path:
    """A new folder (0700) for throw-away clusters, in $KGV_BACKUP_SCRATCH or the temp dir."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get(SCRATCH_ENV) or None))
    give_to(path, cluster_owner())
    return path


def _conf_value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def append_settings(conf: Path, settings: Mapping[str, object], user: str | None) -> None:
    """Append ``settings`` to ``conf`` (later lines win in postgresql.conf)."""
    lines = [f"{k} = {_conf_value(v)}" for k, v in settings.items()]
    existed = conf.exists()
    with conf.open("a", encoding="utf-8") as f:
        f.write("\n# kgv_assets\n" + "\n".join(lines) + "\n")
    if not existed:
        conf.chmod(0o600)
        give_to(conf, user)


def _run(command: list[str], what: str, env: Mapping[str, str] | None = None) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, env=dict(env) if env else None, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ClusterError(f"{what} failed: {' | '.join(tail) or f'exit {done.returncode}'}")
    return done.stdout


@dataclass
class PrivateCluster:
    """One PostgreSQL cluster in ``data``, served on ``port`` (socket in ``socket_dir``)."""

    data: Path
    port: int
    socket_dir: Path
    major: int | None = None
    """PostgreSQL major version of its binaries (None: the newest installed)."""
    listen: str = ""
    """``listen_addresses``: empty for the Unix socket only, or e.g. 127.0.0.1."""
    user: str | None = field(default_factory=cluster_owner)

    @property
    def bin(self) -> Path:
        """The folder of the cluster's server programs."""
        return bin_dir(self.major)

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL for ``dbname`` as the superuser (TCP when listening, else the socket)."""
        if self.listen:
            return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"
        return f"postgresql://{SUPERUSER}@/{dbname}?host={quote(str(self.socket_dir))}&port={self.port}"

    @classmethod
    def create(
        cls,
        data: Path,
        *,
        port: int | None = None,
        socket_dir: Path | None = None,
        major: int | None = None,
        listen: str = "",
        settings: Mapping[str, object] | None = None,
    ) -> PrivateCluster:
        """``initdb`` a new cluster in ``data`` (missing or empty) with its own settings."""
        cluster = cls(
            data, port or free_port(), socket_dir or data.parent / "socket", major, listen
        )
        for path in (data, cluster.socket_dir):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            give_to(path, cluster.user)
        if any(data.iterdir()):
            raise ClusterError(f"{data} is not empty")
        _run(
            as_owner(
                [
                    str(cluster.bin / "initdb"),
                    *("-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8"),
                    "--locale=C.UTF-8",
                ],
                cluster.user,
            ),
            "initdb",
        )
        append_settings(
            data / "postgresql.conf", {**cluster.own_settings(), **(settings or {})}, None
        )
        return cluster

    def own_settings(self) -> dict[str, object]:
        """Port, socket folder and listen addresses of this cluster."""
        return {
            "port": self.port,
            "unix_socket_directories": str(self.socket_dir),
            "listen_addresses": self.listen,
        }

    def start(self, env: Mapping[str, str] | None = None, timeout: int = 300) -> None:
        """Start the server and wait until it accepts connections."""
        log = self.data / "server.log"
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w"]
        try:
            _run(as_owner([*command, "-t", str(timeout), "start"], self.user), "pg_ctl start", env)
        except ClusterError as err:
            raise ClusterError(f"{err}; server log: {self.log_tail()}") from err

    def running(self) -> bool:
        """True while a server runs on this data folder."""
        status = [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(as_owner(status, self.user), capture_output=True).returncode == 0

    def stop(self) -> None:
        """Stop the server (fast shutdown) if it runs."""
        if self.data.exists() and self.running():
            stop = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            _run(as_owner(stop, self.user), "pg_ctl stop")

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server log, joined (for error messages)."""
        log = self.data / "server.log"
        if not log.exists():
            return "(no log)"
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])


@contextmanager
def scratch_cluster(
    prefix: str, *, major: int | None = None, settings: Mapping[str, object] | None = None
) -> Iterator[PrivateCluster]:
    """A started throw-away cluster (socket only, durability off); removed afterwards."""
    folder = scratch_dir(prefix)
    fast = {"fsync": False, "synchronous_commit": False, "full_page_writes": False}
    try:
        cluster = PrivateCluster.create(
            folder / "data",
            socket_dir=folder / "socket",
            major=major,
            settings={**fast, **(settings or {})},
        )
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
