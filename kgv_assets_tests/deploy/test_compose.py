"""docker/docker-compose.yml parsed by Debian's docker-compose (1.29), without an engine.

``docker-compose config`` validates the file and interpolates the env file; its rendering is
what an engine would run. Per profile (default, tools, monitoring, migration) the enabled
services are exactly the expected ones (the Compose rule: a service without ``profiles`` is
always on, one with profiles only when one of them is enabled — 1.29's ``config`` lists every
service, so the rule is applied to its rendering), every dependency is enabled with its
dependant, no secret value is in the compose file (only in the env file), and a missing
secret stops ``config`` with a clear message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
ENV_EXAMPLE = DOCKER / ".env.example"

DEFAULT = {"postgres", "code-server", "webserver", "daemon"}
EXPECTED = {
    (): DEFAULT,
    ("tools",): DEFAULT | {"adminer", "pgadmin"},
    ("monitoring",): DEFAULT
    | {"prometheus", "alertmanager", "postgres-exporter", "pushgateway", "grafana"},
    ("migration",): DEFAULT | {"migrate"},
}
KGV_SERVICES = {"code-server", "webserver", "daemon", "migrate"}


def compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose missing: docker/install-system-packages.sh deploy")
    return subprocess.run(
        [exe, "--env-file", str(env_file), "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        # the shell's variables would win over the env file's (KGV_SOURCE_URL in make targets)
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT)},
    )


@pytest.fixture(scope="module")
def secrets_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """An env file like the example, every CHANGE_ME replaced by a distinctive secret."""
    values: dict[str, str] = {}
    lines = []
    for n, line in enumerate(ENV_EXAMPLE.read_text().splitlines()):
        if "CHANGE_ME" in line and not line.startswith("#"):
            secret = f"s3cr3t{n:02d}x"
            values[line.split("=", 1)[0]] = secret
            line = line.replace("CHANGE_ME", secret)
        lines.append(line)
    path = tmp_path_factory.mktemp("env") / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path, values


@pytest.fixture(scope="module")
def rendered(secrets_env: tuple[Path, dict[str, str]]) -> dict[str, Any]:
    done = compose(secrets_env[0], "config")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of a rendered service's volumes (1.29 renders the short syntax)."""
    return [tuple(str(v).split(":")[:2]) for v in service.get("volumes", [])]  # type: ignore[misc]


def enabled(config: dict[str, Any], profiles: tuple[str, ...]) -> set[str]:
    return {
        name
        for name, service in config["services"].items()
        if not service.get("profiles") or set(service["profiles"]) & set(profiles)
    }


def test_config_validates_and_lists_every_service(secrets_env: tuple[Path, dict[str, str]]) -> None:
    done = compose(secrets_env[0], "config", "--services")
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == set().union(*EXPECTED.values())
    profiles = compose(secrets_env[0], "config", "--profiles")
    assert profiles.stdout.split() == ["migration", "monitoring", "tools"]


@pytest.mark.parametrize("profiles", list(EXPECTED), ids=lambda p: "+".join(p) or "default")
def test_each_profile_runs_exactly_its_services(
    rendered: dict[str, Any], profiles: tuple[str, ...]
) -> None:
    services = enabled(rendered, profiles)
    assert services == EXPECTED[profiles]
    for name in services:
        for dependency in rendered["services"][name].get("depends_on", {}):
            assert dependency in services, (name, dependency)


def test_the_default_stack_is_postgis_16_with_healthchecks_and_volumes(
    rendered: dict[str, Any],
) -> None:
    services = rendered["services"]
    postgres = services["postgres"]
    assert re.fullmatch(r"postgis/postgis:16-3\.\d+", postgres["image"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert volumes(postgres)[0][0] == "pgdata" and "pgdata" in rendered["volumes"]
    for name in KGV_SERVICES:
        service = services[name]
        # one image for every kgv process, on PostgreSQL storage, after a healthy database
        assert service["image"] == services["code-server"]["image"]
        assert service["environment"]["KGV_PG_URL"].endswith("@postgres:5432/kgv")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["code-server"]["condition"] == "service_healthy"
        assert "/opt/kgv_assets/docker/workspace.compose.yaml" in services[name]["command"]
    assert services["migrate"]["command"] == ["kgv", "migrate", "full"]
    assert services["migrate"]["restart"] == "no"
    # published ports on loopback only
    for service in services.values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port


def test_monitoring_uses_the_project_configuration(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    mounted = {
        name: {source for source, _ in volumes(s) if source.startswith("/")}
        for name, s in services.items()
    }
    monitoring = ROOT / "monitoring"
    assert str(monitoring / "postgres-exporter/queries.yaml") in mounted["postgres-exporter"]
    assert str(monitoring / "prometheus/prometheus.compose.yml") in mounted["prometheus"]
    assert str(monitoring / "prometheus/alerts.yml") in mounted["prometheus"]
    assert str(monitoring / "alertmanager/alertmanager.yml") in mounted["alertmanager"]
    assert str(monitoring / "grafana/provisioning") in mounted["grafana"]
    for paths in mounted.values():
        assert all(Path(p).exists() for p in paths), paths
    assert (
        "--extend.query-path=/etc/postgres-exporter/queries.yaml"
        in (services["postgres-exporter"]["command"])
    )
    # the compose Prometheus scrapes and alerts the compose services, like prometheus.yml
    config = yaml.safe_load((monitoring / "prometheus/prometheus.compose.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {
        "kgv_postgres": ["postgres-exporter:9187"],
        "kgv_pushgateway": ["pushgateway:9091"],
    }
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["alertmanager:9093"]


def test_no_secret_value_is_in_the_compose_file(
    rendered: dict[str, Any], secrets_env: tuple[Path, dict[str, str]]
) -> None:
    text = COMPOSE.read_text()
    _, secrets = secrets_env
    assert secrets, "the env example has placeholders for the secrets"
    rendered_text = json.dumps(rendered)
    for name, secret in secrets.items():
        assert secret in rendered_text, f"{name} is not used by the compose file"
        assert secret not in text
    # every password-like setting is a ${VARIABLE} from the env file, never a literal
    for line in text.splitlines():
        match = re.match(r"\s*(\w*(?:PASSWORD|SECRET|TOKEN)\w*)\s*:\s*(\S.*)$", line)
        if match:
            assert match.group(2).startswith("${"), line
    assert not re.search(r"://[^:@/\s]+:[^$@/\s][^@/\s]*@", text), "credentials in a URL"


def test_the_env_example_holds_placeholders_only() -> None:
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        if re.search(r"PASSWORD|SECRET|TOKEN", name):
            assert value == "CHANGE_ME", name
        for password in re.findall(r"://[^:@/]+:([^@/]+)@", value):
            assert password == "CHANGE_ME", name
    for ignore in (ROOT / ".gitignore", ROOT / ".dockerignore"):
        assert "docker/.env" in ignore.read_text().split(), ignore.name


def test_a_missing_secret_stops_config_with_a_clear_message(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    text = ENV_EXAMPLE.read_text()
    env.write_text(re.sub(r"(?m)^KGV_PG_PASSWORD=.*\n", "", text))
    done = compose(env, "config")
    assert done.returncode != 0
    assert "set KGV_PG_PASSWORD in docker/.env" in done.stderr
