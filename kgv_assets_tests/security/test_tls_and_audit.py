"""TLS, access logging and secrets on private clusters (real servers, certificates by openssl).

One cluster accepts TLS only (``hostssl`` lines, scram-sha-256) with a server certificate
signed by a CA made here: ``verify-full`` with ``KGV_PG_SSLROOTCERT`` works, ``sslmode=disable``
and a wrong CA are refused with one clear line. The error paths (wrong password, unreachable
host) are run with a known password, which must appear in no output, no Dagster event and no
report. A second cluster preloads pgaudit: a read of kgv.applications is in its server log.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner

from kgv_assets.backup.cluster import PrivateCluster, give_to, scratch_dir
from kgv_assets.cli import main
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.security.connection import TargetConnectionError, connect
from kgv_assets.security.roles import apply_schema, create_logins

TLS_PORT, AUDIT_PORT, NOBODY_PORT = 56160, 56161, 56169
PASSWORD = "Sekr3t-Passw0rt-4711"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> None:
    """A self-signed CA ``name``.crt / ``name``.key."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=folder,
    )  # fmt: skip


def make_server_cert(folder: Path, ca: str) -> None:
    """server.crt / server.key for 127.0.0.1, signed by ``ca``."""
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr", cwd=folder,
    )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=folder,
    )  # fmt: skip


@dataclass
class TlsServer:
    cluster: PrivateCluster
    ca: Path
    wrong_ca: Path

    def url(self, sslmode: str, password: str = PASSWORD) -> str:
        return (
            f"postgresql://kgv_loader:{password}@127.0.0.1:{self.cluster.port}/postgres"
            f"?sslmode={sslmode}"
        )


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    folder = scratch_dir("kgv_tls_")
    certs = folder / "certs"
    certs.mkdir()
    make_ca(certs, "ca")
    make_ca(certs, "other")
    make_server_cert(certs, "ca")
    for f in ("server.key", "server.crt"):
        (certs / f).chmod(0o600)
        give_to(certs / f, "postgres")
    settings = {
        "ssl": True,
        "ssl_cert_file": str(certs / "server.crt"),
        "ssl_key_file": str(certs / "server.key"),
        "password_encryption": "scram-sha-256",
        "fsync": False,
    }
    cluster = PrivateCluster.create(
        folder / "data", port=TLS_PORT, listen="127.0.0.1", settings=settings
    )
    (folder / "data" / "pg_hba.conf").write_text(
        "local all postgres trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
    )
    cluster.start()
    try:
        admin = f"postgresql://postgres@/postgres?host={cluster.socket_dir}&port={cluster.port}"
        with psycopg.connect(admin, autocommit=True) as conn:
            create_logins(conn, {"KGV_LOADER_PASSWORD": PASSWORD})
        yield TlsServer(cluster, certs / "ca.crt", certs / "other.crt")
    finally:
        cluster.stop()
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_verify_full_with_the_ca_from_the_environment(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGV_PG_SSLROOTCERT", str(tls_server.ca))
    with connect(tls_server.url("verify-full")) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert row == (True,)
        assert conn.execute("SELECT current_user").fetchone() == ("kgv_loader",)
    resource = PostgresResource(url=tls_server.url("verify-full"))
    with resource.connection() as conn:
        assert conn.execute(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone() == (True,)
    resource.close()


def test_no_tls_is_refused_in_one_line(tls_server: TlsServer) -> None:
    with pytest.raises(TargetConnectionError) as refused:
        connect(tls_server.url("disable"))
    message = str(refused.value)
    assert "\n" not in message and PASSWORD not in message
    assert "no encryption" in message and "sslmode=verify-full" in message


def test_a_wrong_ca_is_refused(tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGV_PG_SSLROOTCERT", str(tls_server.wrong_ca))
    with pytest.raises(TargetConnectionError) as refused:
        connect(tls_server.url("verify-full"))
    assert "certificate verify failed" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_error_paths_never_show_the_password(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_source: Path
) -> None:
    monkeypatch.setenv("KGV_PG_SSLROOTCERT", str(tls_server.ca))
    wrong = tls_server.url("verify-full", password="not-" + PASSWORD)
    nobody = f"postgresql://kgv_loader:{PASSWORD}@127.0.0.1:{NOBODY_PORT}/kgv"
    outputs = []
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for url in (wrong, nobody):
        for command in (
            ["report"],
            ["summary"],
            [
                "gdpr",
                "export",
                "--application-id",
                "00000000-0000-0000-0000-000000000001",
                "--out",
                str(tmp_path / "x"),
            ],
        ):
            done = CliRunner().invoke(
                main, command, env={"KGV_PG_URL": url, "DAGSTER_HOME": str(tmp_path)}
            )
            assert done.exit_code != 0
            outputs.append(done.output + repr(done.exception))
        # a Dagster run against it: the events, the failure, the run config
        monkeypatch.setenv("KGV_PG_URL", url)
        monkeypatch.setenv("KGV_SOURCE_URL", f"sqlite:///{demo_source}")
        monkeypatch.setenv("KGV_SOURCE_SCHEMA", "")
        from kgv_assets.sync.operate import VALIDATE_JOB, run_job

        with dg.instance_for_test() as instance:
            result = run_job(VALIDATE_JOB, instance)
            assert not result.success
            for run in instance.get_runs():
                outputs.append(str(run.run_config))
                outputs.extend(str(e) for e in instance.all_logs(run.run_id))
            reports = list(Path(instance.root_directory).rglob("*"))
            outputs.extend(p.read_text(errors="replace") for p in reports if p.is_file())
    joined = "\n".join(outputs)
    assert "password authentication failed" in joined  # the error paths really ran
    assert "Connection refused" in joined or "connection refused" in joined.lower()
    assert PASSWORD not in joined
    assert "Sekr3t" not in joined


@pytest.fixture(scope="module")
def audited() -> Iterator[PrivateCluster]:
    folder = scratch_dir("kgv_audit_")
    settings = {
        "shared_preload_libraries": "pgaudit",
        "pgaudit.role": "kgv_auditor",
        "pgaudit.log": "ddl, role",
        "pgaudit.log_parameter": False,
        "pgaudit.log_relation": True,
        "fsync": False,
    }
    cluster = PrivateCluster.create(folder / "data", port=AUDIT_PORT, settings=settings)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_pgaudit_logs_a_read_of_applications_by_the_application(audited: PrivateCluster) -> None:
    root = Path(__file__).resolve().parents[2]
    with psycopg.connect(audited.url(), autocommit=True) as conn:
        # PostGIS refuses to install while pgaudit logs DDL (the README says so too)
        conn.execute("SET pgaudit.log = 'none'")
        conn.execute("CREATE EXTENSION postgis")
        apply_schema(conn)
        conn.execute("RESET pgaudit.log")
        conn.execute((root / "sql/optional/pgaudit.sql").read_bytes())
        conn.execute(
            "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kgv_app_login')"
            " THEN CREATE ROLE kgv_app_login LOGIN IN ROLE kgv_app; END IF; END$$"
        )
    app = audited.url().replace("postgres@", "kgv_app_login@", 1)
    with psycopg.connect(app) as conn:
        conn.execute("SELECT count(*) FROM kgv.applications WHERE last_name = %s", ("Anna",))
    log = (audited.data / "server.log").read_text()
    lines = [x for x in log.splitlines() if "AUDIT: OBJECT" in x and "kgv.applications" in x]
    assert lines and "READ,SELECT" in lines[-1], log[-2000:]
    assert "Anna" not in lines[-1]  # the statement, never the bound values
