"""The Dagster UI as the user's dashboard: the real webserver after a real full migration.

One module-wide setup: a fresh PostgreSQL database, a Dagster home whose dagster.yaml is the
project's (run and event storage in that PostgreSQL), ``full_migration`` over the demo source
(scale 0.02), then ``dagster-webserver`` started on a free port. Through its GraphQL API every
asset and every asset check of the definitions must be listed with its last result, equal to
what the instance recorded. A real headless Chromium (Debian's ``chromium``) then loads the
asset-graph pages and the checks page: the DOM must name the assets and checks and show no error,
the screenshots must not be blank. With ``KGV_SCREENSHOTS_DIR`` set (``make screenshots``) the
screenshots are saved there for the README.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from kgv_assets.definitions import defs
from kgv_assets.defs.backups.assets import OPERATIONAL_BACKUP_KEYS
from kgv_assets.partitions import all_partitions_tags, register_partition_keys
from kgv_assets.reporting.check_results import check_specs
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets_tests import chromium
from kgv_assets_tests.conftest import (
    INSTANCE_VARIABLES,
    create_database,
    dagster_env,
    drop_database,
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = os.environ.get("KGV_SCREENSHOTS_DIR")
pytestmark = pytest.mark.slow

ASSETS_QUERY = """
query {
  assetNodes {
    assetKey { path }
    assetMaterializations(limit: 1) { runId }
    assetChecksOrError {
      __typename
      ... on AssetChecks {
        checks {
          name
          executionForLatestMaterialization { status runId evaluation { success severity } }
        }
      }
    }
  }
}
"""


@dataclass
class Dashboard:
    url: str
    run_id: str
    instance: dg.DagsterInstance
    definitions: dg.Definitions

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            body = json.load(response)
        assert "errors" not in body, body.get("errors")
        return body["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_served(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dagster-webserver exited:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(1)
    pytest.fail(f"dagster-webserver did not answer in 180 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def dashboard(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    url = create_database("kgv_dashboard")
    home = tmp_path_factory.mktemp("dagster_home")
    env = dagster_env(home, url, f"sqlite:///{demo_source}")
    process = None
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name in INSTANCE_VARIABLES:
                mp.setenv(name, env[name])
            instance = dg.DagsterInstance.from_config(str(home))
            definitions = defs()
            source = LegacySourceResource(url=env["KGV_SOURCE_URL"])
            register_partition_keys(instance, source.partition_keys())
            result = definitions.resolve_job_def("full_migration").execute_in_process(
                instance=instance, tags=all_partitions_tags(instance)
            )
            assert result.success
            port = _free_port()
            log = home / "webserver.log"
            process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("dagster-webserver")),
                    *("-m", "kgv_assets.definitions", "-h", "127.0.0.1", "-p", str(port)),
                ],
                env=env,
                cwd=ROOT,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the code server goes with it
            )
            base = f"http://127.0.0.1:{port}"
            _wait_until_served(base, process, log)
            yield Dashboard(base, result.run_id, instance, definitions)
            instance.dispose()
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        drop_database(url)


def test_graphql_lists_every_asset_and_check_with_its_last_result(dashboard: Dashboard) -> None:
    nodes = {
        "/".join(n["assetKey"]["path"]): n for n in dashboard.graphql(ASSETS_QUERY)["assetNodes"]
    }
    expected_assets = {k.to_user_string() for k in dashboard.definitions.resolve_all_asset_keys()}
    assert set(nodes) == expected_assets
    assert "migration/report" in nodes
    # The scheduled backups (issue 14) are not part of full_migration: listed, not materialized.
    scheduled = {k.to_user_string() for k in OPERATIONAL_BACKUP_KEYS}
    nodes = {k: n for k, n in nodes.items() if k not in scheduled}
    for key, node in nodes.items():
        assert node["assetMaterializations"], f"{key}: no materialization listed"
        assert node["assetMaterializations"][0]["runId"] == dashboard.run_id, key

    listed = {}
    for key, node in nodes.items():
        checks = node["assetChecksOrError"]
        assert checks["__typename"] == "AssetChecks", (key, checks)
        for check in checks["checks"]:
            listed[f"{key}:{check['name']}"] = check["executionForLatestMaterialization"]
    specs = check_specs(dashboard.definitions.resolve_implicit_global_asset_job_def())
    assert set(listed) == {s.key.to_user_string() for s in specs}
    for spec in specs:
        execution = listed[spec.key.to_user_string()]
        assert execution is not None, f"{spec.key.to_user_string()}: no result listed"
        record = dashboard.instance.get_latest_asset_check_evaluation_record(spec.key)
        assert record is not None and record.event is not None
        evaluation = record.event.asset_check_evaluation
        assert evaluation is not None
        assert execution["runId"] == dashboard.run_id
        assert execution["status"] == ("SUCCEEDED" if evaluation.passed else "FAILED")
        assert execution["evaluation"]["severity"] == evaluation.severity.value


def _assert_rendered(page: chromium.Page, names: set[str], ui: bool = True) -> None:
    missing = {n for n in names if n not in page.text}
    assert not missing, f"not on the page: {sorted(missing)}"
    if ui:  # the Dagster UI's error messages (the report itself may say "not found")
        assert page.errors() == [], page.text[:2000]
    colours, share = chromium.colour_stats(page.screenshot)
    assert colours >= 32 and share >= 0.02, f"blank screenshot? {colours} colours, {share:.1%}"


@pytest.mark.browser
def test_the_asset_graph_renders(dashboard: Dashboard, tmp_path: Path) -> None:
    lineage = chromium.load(
        f"{dashboard.url}/asset-groups", tmp_path / "lineage.png", tmp_path / "p1"
    )
    _assert_rendered(lineage, {"legacy", "target", "reports"})  # the groups, collapsed
    neighbours = "view=lineage&lineageScope=neighbors&lineageDepth=1"
    graph = chromium.load(
        f"{dashboard.url}/assets/kgv/applications?{neighbours}",
        tmp_path / "asset-graph.png",
        tmp_path / "p2",
    )
    _assert_rendered(graph, {"Antrag", "applications", "file_references", "report"})
    chromium.save_for_docs(graph.screenshot, SCREENSHOTS, "asset-graph.png")


@pytest.mark.browser
def test_the_checks_page_renders(dashboard: Dashboard, tmp_path: Path) -> None:
    key = dg.AssetKey(["kgv", "applications"])
    specs = check_specs(dashboard.definitions.resolve_implicit_global_asset_job_def())
    names = {s.key.name for s in specs if s.key.asset_key == key}
    assert names, "kgv/applications has asset checks"
    records = [dashboard.instance.get_latest_asset_check_evaluation_record(s.key) for s in specs]
    passed = {
        r.event.asset_check_evaluation.passed
        for r in records
        if r and r.key.asset_key == key and r.event and r.event.asset_check_evaluation
    }
    statuses = {"Succeeded" if p else "Failed" for p in passed}
    page = chromium.load(
        f"{dashboard.url}/assets/kgv/applications?view=checks",
        tmp_path / "asset-checks.png",
        tmp_path / "profile",
    )
    _assert_rendered(page, names | statuses)
    chromium.save_for_docs(page.screenshot, SCREENSHOTS, "asset-checks.png")


@pytest.mark.browser
def test_the_report_renders_offline(dashboard: Dashboard, tmp_path: Path) -> None:
    event = dashboard.instance.get_latest_materialization_event(
        dg.AssetKey(["migration", "report"])
    )
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    html = Path(str(metadata["html"].value))
    page = chromium.load(html.as_uri(), tmp_path / "migration-report.png", tmp_path / "profile")
    verdict = str(metadata["verdict"].value)
    _assert_rendered(page, {"KGV migration report", verdict, "Quarantined rows by reason"}, False)
    chromium.save_for_docs(page.screenshot, SCREENSHOTS, "migration-report.png")


@pytest.mark.browser
def test_a_blank_page_is_recognised_as_blank(tmp_path: Path) -> None:
    page = chromium.load("about:blank", tmp_path / "blank.png", tmp_path / "profile")
    assert chromium.colour_stats(page.screenshot) == (1, 0.0)
    assert page.text == ""
