"""Grafana dashboards and their provisioning (monitoring/grafana/), checked against real scrapes.

Grafana itself cannot run here (it is neither in Debian nor on PyPI), so the dashboard JSON is
checked for what Grafana needs — a provisioned data source uid, unique panel ids, a query on
every panel — and every metric name a panel or variable queries must exist in a real scrape of
the exporter (the project's queries.yaml) and of the Pushgateway after the package's demo
migration: a renamed metric breaks this test, not the operators' dashboard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from kgv_assets_tests.monitoring.conftest import MONITORING, running_exporter, scrape_text

pytestmark = pytest.mark.slow
GRAFANA = MONITORING / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
COMPOSE = MONITORING.parent / "docker" / "docker-compose.yml"

# PromQL words that look like metric names: aggregations, functions, modifiers, keywords.
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
PROMQL_WORDS |= {"and", "or", "unless", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and strings left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers (Grafana's $variables too)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery durations
    found = re.findall(r"(?<![\w:$])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text)
    return {n for n in found if n.lower() not in PROMQL_WORDS}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        if found := re.fullmatch(r"label_values\(\s*([^,]+),\s*\w+\s*\)", text.strip()):
            exprs.append(found.group(1))
    return exprs


@pytest.fixture(scope="module")
def scraped_names(
    migrated_url: str, pushgateway: str, tmp_path_factory: pytest.TempPathFactory
) -> set[str]:
    """Every metric name in one scrape of the exporter and one of the Pushgateway."""
    log = tmp_path_factory.mktemp("exporter") / "log"
    with running_exporter(migrated_url, log) as exporter:
        texts = [scrape_text(exporter), scrape_text(f"{pushgateway}/metrics")]
    return {
        name
        for text in texts
        for family in text_string_to_metric_families(text)
        for name in (family.name, *(s.name for s in family.samples))
    }


def test_the_expression_parser_finds_metric_names() -> None:
    expr = (
        'sum by (table) (rate(kgv_x_total{a="b", c=~"$v"}[5m])) / on (table) '
        "clamp_min(kgv_y, 1) > bool 0 or time() - max(kgv_z offset 1h)"
    )
    assert metric_names(expr) == {"kgv_x_total", "kgv_y", "kgv_z"}


def test_dashboards_are_provisioned_with_their_data_source() -> None:
    assert DASHBOARDS, "no dashboard JSON in monitoring/grafana/dashboards"
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uids = {s["uid"] for s in sources["datasources"] if s["type"] == "prometheus"}
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/kgv.yml").read_text())
    path = providers["providers"][0]["options"]["path"]
    grafana = yaml.safe_load(COMPOSE.read_text())["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith("..")}
    assert mounts[path] == "../monitoring/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "../monitoring/grafana/provisioning"
    for file in DASHBOARDS:
        dashboard = json.loads(file.read_text())
        ids = [p["id"] for p in panels(dashboard)]
        assert len(ids) == len(set(ids)), file.name
        for panel in panels(dashboard):
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] in uids, panel["title"]
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])


def test_the_dashboard_covers_what_operators_watch() -> None:
    (dashboard,) = (json.loads(f.read_text()) for f in DASHBOARDS)
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == [
        "Migration progress per table and stage",
        "Quarantine by reason",
        "Sync freshness and lag",
        "Run outcomes",
        "Database health",
    ]
    used = set().union(*map(metric_names, queries(dashboard)))
    for needed in (
        "kgv_reconciliation_loaded_rows",
        "kgv_quarantine_reason_rows",
        "kgv_reconciliation_age_seconds",
        "kgv_run_success",
        "pg_database_size_bytes",
        "pg_stat_activity_count",
        "pg_locks_count",
    ):
        assert needed in used


@pytest.mark.parametrize("file", DASHBOARDS, ids=lambda f: f.name)
def test_every_metric_in_a_panel_exists_in_a_real_scrape(
    file: Path, scraped_names: set[str]
) -> None:
    dashboard = json.loads(file.read_text())
    used = set().union(*map(metric_names, queries(dashboard)))
    assert len(used) >= 20
    assert used <= scraped_names, sorted(used - scraped_names)
