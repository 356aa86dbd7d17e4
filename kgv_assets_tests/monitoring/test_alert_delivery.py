"""Alerts delivered: Prometheus and Alertmanager (Debian's packages) on loopback, for real.

The exporter watches the migrated database; Prometheus evaluates the shipped alerts.yml and
sends to an Alertmanager running the shipped alertmanager.yml. Both configurations are the
shipped files with only addresses and intervals changed (every second instead of every
minute; the webhook URL pointing at a tiny http.server in this test). The accounting is broken
on purpose: KgvAccountingBroken must reach the webhook within a bounded time, with the table
and stage as labels; when the accounting is restored, the webhook must be told it resolved.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from kgv_assets_tests.monitoring.conftest import (
    MONITORING,
    broken_accounting,
    free_port,
    running_exporter,
    serving,
)

pytestmark = pytest.mark.slow
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
BROKEN = ("Antrag", "target")
DELIVERY_SECONDS = 60


class Webhook(ThreadingHTTPServer):
    """A loopback webhook receiver: every POSTed Alertmanager notification lands in a queue."""

    def __init__(self) -> None:
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()
        super().__init__(("127.0.0.1", 0), _Receive)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alertmanager"

    def wait_for(self, status: str, alertname: str, seconds: float) -> dict[str, Any]:
        """The first notification with an alert ``alertname`` in ``status``, within ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                note = self.notifications.get(timeout=left)
            except queue.Empty:
                break
            for alert in note["alerts"]:
                if alert["labels"].get("alertname") == alertname and alert["status"] == status:
                    return alert
        pytest.fail(f"no {status} {alertname} reached the webhook within {seconds} s")


class _Receive(BaseHTTPRequestHandler):
    server: Webhook  # pyright: ignore[reportIncompatibleVariableOverride]  # ours is a Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.notifications.put(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def alertmanager_config(webhook_url: str) -> dict[str, Any]:
    """The shipped alertmanager.yml with the webhook at ``webhook_url`` and 1 s intervals."""
    config = yaml.safe_load((MONITORING / "alertmanager" / "alertmanager.yml").read_text())
    config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    for route in config["route"].get("routes", []):
        route.pop("repeat_interval", None)
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = webhook_url
    return config


def prometheus_config(exporter: str, alertmanager: str) -> dict[str, Any]:
    """The shipped prometheus.yml scraping ``exporter`` every second, alerting ``alertmanager``."""
    config = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(MONITORING / "prometheus" / r) for r in config["rule_files"]]
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    jobs["kgv_postgres"]["static_configs"][0]["targets"] = [exporter]
    config["scrape_configs"] = [jobs["kgv_postgres"]]  # no Pushgateway in this test
    return config


@pytest.fixture
def monitoring_stack(migrated_url: str, webhook: Webhook, tmp_path: Path) -> Iterator[None]:
    """Exporter, Alertmanager and Prometheus on free loopback ports, stopped afterwards."""
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(webhook.url)))
    with running_exporter(migrated_url, tmp_path / "exporter.log") as metrics:
        exporter = metrics.removeprefix("http://").removesuffix("/metrics")
        config = prometheus_config(exporter, f"127.0.0.1:{am_port}")
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        alertmanager = [
            ALERTMANAGER,
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # a single Alertmanager: no gossip port
        ]
        prometheus = [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--rules.alert.resend-delay=1s",
        ]
        with (
            serving("alertmanager", alertmanager, am_port, tmp_path / "am.log"),
            serving("prometheus", prometheus, prom_port, tmp_path / "prometheus.log"),
        ):
            yield


def test_broken_accounting_reaches_the_webhook_and_resolves(
    monitoring_stack: None, migrated_url: str, webhook: Webhook
) -> None:
    with broken_accounting(migrated_url, *BROKEN):
        broken_at = time.monotonic()
        firing = webhook.wait_for("firing", "KgvAccountingBroken", DELIVERY_SECONDS)
        delivered = time.monotonic() - broken_at
    assert (firing["labels"]["source_table"], firing["labels"]["stage"]) == BROKEN
    assert firing["labels"]["severity"] == "critical"
    assert "Antrag" in firing["annotations"]["summary"]
    resolved = webhook.wait_for("resolved", "KgvAccountingBroken", DELIVERY_SECONDS)
    assert (resolved["labels"]["source_table"], resolved["labels"]["stage"]) == BROKEN
    print(f"KgvAccountingBroken delivered after {delivered:.1f} s")  # noqa: T201
