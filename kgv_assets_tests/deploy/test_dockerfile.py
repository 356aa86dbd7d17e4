"""Static checks of docker/Dockerfile and .dockerignore (no container engine here to build it).

The Dockerfile is parsed into its stages and instructions: a builder that installs the locked
requirements with uv and a slim Python 3.11 Debian runtime on an exactly pinned base; unixODBC
and FreeTDS, Microsoft's ODBC Driver 18 only behind the documented INSTALL_MSODBC argument; a
non-root USER in the final stage; a HEALTHCHECK with the code server's gRPC health check on the
port the code server listens on; no credentials; and every file it copies is in the build
context (present, and not excluded by .dockerignore, which keeps secrets and data out).
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current.strip())
        current = ""
    out = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def parse() -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages of the Dockerfile."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else ""
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
        elif keyword == "ARG":
            key, _, default = rest.partition("=")
            args[key] = default
    return args, stages


ARGS, STAGES = parse()
FINAL = STAGES[-1]


def test_two_stages_builder_and_slim_runtime_on_a_pinned_base() -> None:
    assert [s.name for s in STAGES] == ["builder", "runtime"]
    assert {s.base for s in STAGES} == {"${PYTHON_IMAGE}"}
    base = ARGS["PYTHON_IMAGE"]
    # an exact Python 3.11 patch release on Debian 12, never a moving tag
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base


def test_the_builder_installs_the_locked_requirements_with_uv() -> None:
    builder = STAGES[0]
    runs = " ".join(builder.all("RUN"))
    assert re.search(r"uv==\$\{UV_VERSION\}", runs)
    assert re.search(r"uv pip install .*-r /tmp/requirements\.lock", runs)
    assert "docker/requirements.lock /tmp/requirements.lock" in builder.all("COPY")
    assert "--no-deps -e /opt/kgv_assets" in runs
    # the runtime gets the virtualenv, not the build tools
    copied = FINAL.all("COPY")
    assert "--from=builder /opt/venv /opt/venv" in copied
    assert "uv" not in " ".join(FINAL.all("RUN"))


def test_odbc_drivers_freetds_always_and_microsoft_only_on_request() -> None:
    runs = " ".join(FINAL.all("RUN"))
    for package in ("unixodbc", "tdsodbc"):
        assert package in runs.split()
    assert "ARG INSTALL_MSODBC=0" in [f"ARG {a}" for a in FINAL.all("ARG")]
    guarded = re.search(r'if \[ "\$INSTALL_MSODBC" = "1" \]; then(.*?)fi;', runs)
    assert guarded, "msodbcsql18 must be behind INSTALL_MSODBC"
    assert "ACCEPT_EULA=Y apt-get install" in guarded.group(1) and "msodbcsql18" in guarded.group(1)
    outside = runs.replace(guarded.group(0), "")
    assert "msodbcsql18" not in outside and "ACCEPT_EULA" not in outside
    header = DOCKERFILE.read_text().split("ARG PYTHON_IMAGE")[0]
    assert "INSTALL_MSODBC=1" in header and "odbc18eula" in header  # documented, with licence


def test_the_final_stage_runs_as_a_non_root_user() -> None:
    users = FINAL.all("USER")
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    index = [kw for kw, _ in FINAL.instructions].index("USER")
    later = [kw for kw, _ in FINAL.instructions[index:]]
    assert "RUN" not in later, "nothing may run as root after USER"


def test_the_healthcheck_is_the_code_servers_grpc_health_check() -> None:
    (check,) = FINAL.all("HEALTHCHECK")
    assert "CMD" in check
    command = shlex.split(
        check.split("CMD", 1)[1].replace(",", " ").replace("[", "").replace("]", "")
    )
    assert command[:3] == ["dagster", "api", "grpc-health-check"]
    port = command[command.index("-p") + 1]
    (cmd,) = FINAL.all("CMD")
    assert '"code-server", "start"' in cmd and f'"-p", "{port}"' in cmd
    assert port in FINAL.all("EXPOSE")[0].split()
    assert "--interval=" in check and "--start-period=" in check


def test_no_credentials_in_the_image() -> None:
    text = DOCKERFILE.read_text()
    assert not re.search(r"(?i)(password|passwd|secret|token)\s*=", text)
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", text), "credentials in a URL"
    for keyword, args in instructions(text):
        if keyword in {"ENV", "ARG"}:
            assert not re.search(r"(?i)KGV_PG_URL|KGV_SOURCE_URL|PASSWORD", args), args


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's patterns exclude ``path`` (last match wins, ! re-includes)."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/"))
            for p in prefixes
        ):
            result = not negate
    return result


PATTERNS = [
    line.strip()
    for line in DOCKERIGNORE.read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


@pytest.mark.parametrize(
    "path",
    [
        "docker/.env",
        ".venv/bin/python",
        ".git/config",
        ".demo/kgv_demo.sqlite",
        ".pgdata/PG_VERSION",
        "kgv_assets/__pycache__/cli.cpython-311.pyc",
        "x.sqlite",
    ],
)
def test_dockerignore_keeps_secrets_and_local_state_out(path: str) -> None:
    assert ignored(path, PATTERNS)


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    sources = []
    for stage in STAGES:
        for args in stage.all("COPY"):
            if args.startswith("--from="):
                continue
            sources += args.split()[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source, PATTERNS), f"{source} is excluded by .dockerignore"
