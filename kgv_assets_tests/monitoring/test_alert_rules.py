"""Prometheus configuration and alert rules, checked and unit-tested by the real promtool.

`promtool check config` (prometheus.yml and the rule file it loads), `promtool check rules`,
`promtool test rules` (alerts_test.yml: each alert fires on the series it is meant for and stays
quiet otherwise), and that every kgv_* metric the rules use is one queries.yaml defines.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from kgv_assets.observability.metrics import LOAD_METRICS, RUN_METRICS
from kgv_assets_tests.monitoring.conftest import MONITORING

PROMETHEUS = MONITORING / "prometheus"


def promtool(*args: str) -> str:
    """Run promtool in monitoring/prometheus; fail the test with its output when it fails."""
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail(
            "promtool not found: install Debian's package `prometheus` "
            "(docker/install-system-packages.sh monitoring; `make test` does it)"
        )
    done = subprocess.run(
        [exe, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def test_prometheus_config_is_valid() -> None:
    output = promtool("check", "config", "prometheus.yml")
    assert "1 rule files found" in output


def test_alert_rules_are_valid() -> None:
    output = promtool("check", "rules", "alerts.yml")
    assert "7 rules found" in output


def test_alert_rules_pass_their_unit_tests() -> None:
    output = promtool("test", "rules", "alerts_test.yml")
    assert "SUCCESS" in output


def test_alert_rules_use_only_metrics_the_exporter_or_the_pipeline_defines() -> None:
    queries = yaml.safe_load((MONITORING / "postgres-exporter" / "queries.yaml").read_text())
    defined = {
        f"{block}_{column}"
        for block, spec in queries.items()
        for metric in spec["metrics"]
        for column, meta in metric.items()
        if meta["usage"] != "LABEL"
    }
    defined |= {*LOAD_METRICS, *RUN_METRICS}  # pushed to the Pushgateway
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    # metric names outside label values such as job="kgv_postgres"
    used = {m for e in exprs for m in re.findall(r"\bkgv_[a-z0-9_]+", re.sub(r'"[^"]*"', "", e))}
    assert used, "the rules watch kgv_* metrics"
    assert used <= defined, used - defined
