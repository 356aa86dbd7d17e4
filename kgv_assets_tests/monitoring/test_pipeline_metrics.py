"""Pipeline metrics on a real Pushgateway (Debian's package) after a demo migration.

The package's migration ran with ``KGV_PUSHGATEWAY_URL`` set (``conftest.migrated_url``), and
``run_outcomes_sensor`` was evaluated once after it. Scraping the gateway must give, for every
table, stage and partition, exactly what ``migration.reconciliation`` recorded (rows read,
loaded and quarantined, seconds, rows/s, peak memory, run id), and the run's outcome. Labels
carry table names, stages, partition keys, run ids, job names and statuses only — never a value
of a row. A gateway that does not answer never fails a load and never shows its credentials.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kgv_assets.definitions import defs
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.demo_data import KNOWN_APPLICANT
from kgv_assets.observability.metrics import LOAD_METRICS as LOAD_METRICS_PUSHED
from kgv_assets.observability.metrics import PUSHGATEWAY_ENV, push_load_metrics
from kgv_assets_tests.monitoring.conftest import free_port, scrape_text

pytestmark = pytest.mark.slow

LOAD_METRICS = {
    "kgv_load_source_rows": "source_rows",
    "kgv_load_loaded_rows": "loaded_rows",
    "kgv_load_quarantined_rows": "quarantined_rows",
    "kgv_load_seconds": "seconds",
}
PUSHED_LABELS = {
    "job",
    "instance",
    "table",
    "stage",
    "partition",
    "run_id",
    "dagster_job",
    "status",
}


def pushed(pushgateway: str) -> dict[str, dict[tuple[str, str, str], tuple[str, float]]]:
    """kgv_load_* samples by (table, stage, partition): (run_id, value), per metric name."""
    out: dict[str, dict[tuple[str, str, str], tuple[str, float]]] = {}
    for family in text_string_to_metric_families(scrape_text(f"{pushgateway}/metrics")):
        for s in family.samples:
            if s.name.startswith("kgv_load_"):
                key = (s.labels["table"], s.labels["stage"], s.labels["partition"])
                out.setdefault(s.name, {})[key] = (s.labels["run_id"], s.value)
    return out


def test_load_metrics_equal_the_reconciliation_table(pushgateway: str, migrated_url: str) -> None:
    with psycopg.connect(migrated_url) as conn:
        rows = conn.execute(
            "SELECT source_table, stage, partition, source_rows, loaded_rows, quarantined_rows,"
            " seconds, peak_rss_mib, run_id, extract(epoch FROM reconciled_at)"
            " FROM migration.reconciliation"
        ).fetchall()
        (run_id,) = {r[8] for r in rows}
        read_by_load = dict(
            conn.execute(
                "SELECT source_table || '/' || stage, sum(source_rows)"
                " FROM migration.reconciliation GROUP BY 1"
            ).fetchall()
        )
    assert {r[0] for r in rows} == {t.name for t in TABLES}
    metrics = pushed(pushgateway)
    for r in rows:
        key = (r[0], r[1], r[2])
        columns = ["source_rows", "loaded_rows", "quarantined_rows", "seconds"]
        expected = dict(zip(columns, r[3:7], strict=True))
        for name, column in LOAD_METRICS.items():
            assert metrics[name][key] == (run_id, pytest.approx(float(expected[column]))), (
                name,
                key,
            )
        assert metrics["kgv_load_peak_memory_bytes"][key] == (run_id, float(r[7]) * 2**20)
        assert metrics["kgv_load_finished_timestamp_seconds"][key] == (
            run_id,
            pytest.approx(float(r[9]), abs=1e-3),
        )
        per_second = float(read_by_load[f"{r[0]}/{r[1]}"]) / float(r[6])
        assert metrics["kgv_load_rows_per_second"][key] == (run_id, pytest.approx(per_second))
    assert set(metrics) == set(LOAD_METRICS_PUSHED)
    # exactly one series per accounting row: nothing pushed that was not recorded
    assert all(len(by_key) == len(rows) for by_key in metrics.values())


def test_the_run_outcome_is_pushed(pushgateway: str, migrated_url: str) -> None:
    with psycopg.connect(migrated_url) as conn:
        found = conn.execute(
            "SELECT run_id, end_time - start_time FROM runs"
            " JOIN run_tags USING (run_id) WHERE status = 'SUCCESS' LIMIT 1"
        ).fetchone()
    assert found is not None, "a successful run is recorded"
    run_id, seconds = found
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(scrape_text(f"{pushgateway}/metrics"))
        for s in f.samples
        if s.name.startswith("kgv_run")
    }
    group = (("dagster_job", "full_migration"), ("instance", ""), ("job", "kgv_run"))
    labels = tuple(sorted((*group, ("run_id", str(run_id)), ("status", "SUCCESS"))))
    assert samples[("kgv_run_success", labels)] == 1
    assert samples[("kgv_run_duration_seconds", labels)] == pytest.approx(float(seconds))
    for status, count in (("SUCCESS", 1), ("FAILURE", 0), ("CANCELED", 0)):
        key = ("kgv_runs_finished", tuple(sorted((*group, ("status", status)))))
        assert samples[key] == count


def test_no_personal_data_in_any_label(pushgateway: str, migrated_url: str) -> None:
    text = scrape_text(f"{pushgateway}/metrics")
    for part in KNOWN_APPLICANT:
        assert part not in text
    with psycopg.connect(migrated_url) as conn:
        partitions = {r[0] for r in conn.execute("SELECT partition FROM migration.reconciliation")}
        runs = {r[0] for r in conn.execute("SELECT run_id FROM runs")}
    allowed = {
        "job": {"kgv_load", "kgv_run"},
        "instance": {""},
        "table": {t.name for t in TABLES},
        "stage": {"staging", "target"},
        "partition": partitions,
        "run_id": runs,
        "dagster_job": {"full_migration"},
        "status": {"SUCCESS", "FAILURE", "CANCELED"},
    }
    seen = set()
    for family in text_string_to_metric_families(text):
        if family.name.startswith("kgv_"):
            for s in family.samples:
                assert set(s.labels) <= PUSHED_LABELS, s.labels
                for label, value in s.labels.items():
                    assert value in allowed[label], (family.name, label)
                seen |= set(s.labels)
    assert seen == PUSHED_LABELS


def test_a_gateway_that_does_not_answer_never_fails_a_load(
    pg_url: str,
    demo_source: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = f"http://kgv_pusher:s3cret-pw@127.0.0.1:{free_port()}"
    monkeypatch.setenv(PUSHGATEWAY_ENV, dead)
    monkeypatch.setenv("KGV_PG_URL", pg_url)
    monkeypatch.setenv("KGV_SOURCE_URL", f"sqlite:///{demo_source}")
    monkeypatch.setenv("KGV_SOURCE_SCHEMA", "")
    caplog.set_level(logging.WARNING)
    # real loads (the schema, one small table) into a fresh database, the gateway dead
    job = defs().resolve_job_def("full_migration")
    keys = {dg.AssetKey(["migration", "schema_migrations"]), dg.AssetKey(["legacy", "Bezirk"])}
    subset = job.get_subset(asset_selection=keys, asset_check_selection=set())
    with dg.instance_for_test() as instance:
        result = subset.execute_in_process(instance=instance)
        assert result.success
        logs = [
            e.message or ""
            for e in instance.all_logs(result.run_id)
            if "not pushed to the Pushgateway" in (e.message or "")
        ]
    assert len(logs) == 1, logs
    assert "load metrics of Bezirk (staging)" in logs[0]
    assert "http://127.0.0.1:" in logs[0] and "URLError" in logs[0]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert push_load_metrics(conn, "Bezirk", "staging", result.run_id) == 0
    everything = "\n".join(logs) + caplog.text
    assert "s3cret-pw" not in everything and "kgv_pusher" not in everything
