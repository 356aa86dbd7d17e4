"""Pipeline metrics pushed to a Prometheus Pushgateway (when ``KGV_PUSHGATEWAY_URL`` is set).

The exporter (``monitoring/postgres-exporter``) shows what the database holds; these metrics
show what the pipeline did, as it did it, from wherever the run worker runs (a container, a
Kubernetes pod) without Prometheus having to reach it:

- after every load, per table, stage and partition: rows read, loaded and quarantined, the
  load's seconds and rows/s, the run worker's peak memory (``push_load_metrics``). The figures
  are read back from what the load just recorded in ``migration.reconciliation`` for this run,
  so the metrics are the accounting, never a second count of it;
- after every run, its outcome (``push_run_outcome``, called by ``run_outcomes_sensor``).

One Pushgateway group per (table, stage, partition) and per Dagster job: a reload replaces its
group, so the gateway holds the latest load of each partition, like the accounting table, and
the number of groups does not grow with the number of runs. Labels are table names, stages,
partition keys, run ids, job names and run statuses — never a value of a row. A push that
fails (gateway down, wrong URL) never fails the load: it logs one warning line, without the
URL's credentials, and the load goes on.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import psycopg
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import basic_auth_handler, default_handler, push_to_gateway

PUSHGATEWAY_ENV = "KGV_PUSHGATEWAY_URL"
LOAD_JOB = "kgv_load"
RUN_JOB = "kgv_run"
PUSH_TIMEOUT_SECONDS = 5.0
FINISHED_STATUSES = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)

Handler = Callable[..., Callable[[], None]]

# Every metric this module pushes (the alert rules and dashboards may use these).
LOAD_METRICS = (
    "kgv_load_source_rows",
    "kgv_load_loaded_rows",
    "kgv_load_quarantined_rows",
    "kgv_load_seconds",
    "kgv_load_rows_per_second",
    "kgv_load_peak_memory_bytes",
    "kgv_load_finished_timestamp_seconds",
)
RUN_METRICS = (
    "kgv_run_success",
    "kgv_run_end_timestamp_seconds",
    "kgv_run_duration_seconds",
    "kgv_runs_finished",
)


@dataclass(frozen=True)
class Gateway:
    """Where to push: the URL without credentials, and the handler that authenticates."""

    url: str
    handler: Handler

    @property
    def for_people(self) -> str:
        """Scheme, host and port only: safe for a log line."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def gateway() -> Gateway | None:
    """The Pushgateway of ``KGV_PUSHGATEWAY_URL`` (read now, at run time), or None if unset.

    ``https://user:password@host:9091`` authenticates with HTTP basic auth; the credentials are
    taken out of the URL, so they never reach a log line or an error message.
    """
    raw = os.environ.get(PUSHGATEWAY_ENV, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw if "://" in raw else f"http://{raw}")
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    handler: Handler = default_handler
    if parts.username is not None:
        handler = functools.partial(
            basic_auth_handler, username=parts.username, password=parts.password or ""
        )
    return Gateway(url, handler)


def _push(target: Gateway, job: str, registry: CollectorRegistry, group: Mapping[str, str]) -> None:
    push_to_gateway(
        target.url,
        job=job,
        registry=registry,
        grouping_key=dict(group),
        timeout=PUSH_TIMEOUT_SECONDS,
        handler=target.handler,
    )


def _warn(
    log: logging.Logger | dg.DagsterLogManager | None, what: str, target: Gateway, error: Exception
) -> None:
    (log or dg.get_dagster_logger()).warning(
        "%s not pushed to the Pushgateway %s: %s", what, target.for_people, type(error).__name__
    )


LOAD_QUERY = """
SELECT partition, source_rows, loaded_rows, quarantined_rows, coalesce(seconds, 0),
       coalesce(peak_rss_mib, 0), extract(epoch FROM reconciled_at)
  FROM migration.reconciliation
 WHERE source_table = %s AND stage = %s AND run_id = %s
 ORDER BY partition
"""


def push_load_metrics(
    conn: psycopg.Connection,
    source_table: str,
    stage: str,
    run_id: str,
    log: logging.Logger | dg.DagsterLogManager | None = None,
) -> int:
    """Push what the load of ``source_table`` at ``stage`` in ``run_id`` recorded.

    Returns the number of partitions pushed (0 when ``KGV_PUSHGATEWAY_URL`` is unset or the
    push failed — never an exception).
    """
    target = gateway()
    if target is None:
        return 0
    try:
        rows = conn.execute(LOAD_QUERY, (source_table, stage, run_id)).fetchall()
        # seconds: the whole load's (one load covers every partition of its run)
        read = sum(int(r[1]) for r in rows)
        for partition, source, loaded, quarantined, seconds, peak_mib, finished in rows:
            registry = CollectorRegistry()
            values = {
                "kgv_load_source_rows": ("Legacy rows read for the partition", source),
                "kgv_load_loaded_rows": ("Rows loaded at this stage", loaded),
                "kgv_load_quarantined_rows": ("Rows quarantined up to this stage", quarantined),
                "kgv_load_seconds": ("Seconds of the load that wrote the partition", seconds),
                "kgv_load_rows_per_second": (
                    "Legacy rows read per second by that load (all its partitions)",
                    read / seconds if seconds else 0.0,
                ),
                "kgv_load_peak_memory_bytes": (
                    "Peak resident memory of the run worker after the load",
                    float(peak_mib) * 2**20,
                ),
                "kgv_load_finished_timestamp_seconds": (
                    "Unix time the load recorded the partition's accounting",
                    finished,
                ),
            }
            for name, (documentation, value) in values.items():
                Gauge(name, documentation, ["run_id"], registry=registry).labels(run_id).set(
                    float(value)
                )
            group = {"table": source_table, "stage": stage, "partition": str(partition)}
            _push(target, LOAD_JOB, registry, group)
    except Exception as error:  # a metric must never fail a load
        _warn(log, f"load metrics of {source_table} ({stage})", target, error)
        return 0
    return len(rows)


def push_run_outcome(
    instance: dg.DagsterInstance,
    record: dg.RunRecord,
    log: logging.Logger | dg.DagsterLogManager | None = None,
) -> bool:
    """Push the outcome of the finished run of ``record`` (and its job's tally of outcomes).

    Returns whether it was pushed (False when ``KGV_PUSHGATEWAY_URL`` is unset or it failed).
    """
    target = gateway()
    if target is None:
        return False
    run = record.dagster_run
    try:
        registry = CollectorRegistry()
        labels = ["run_id", "status"]
        status = run.status.value
        end, start = record.end_time or 0.0, record.start_time or record.end_time or 0.0
        for name, documentation, value in (
            (
                "kgv_run_success",
                "1 if the job's latest finished run succeeded, else 0",
                float(run.status == dg.DagsterRunStatus.SUCCESS),
            ),
            ("kgv_run_end_timestamp_seconds", "Unix time the latest finished run ended", end),
            ("kgv_run_duration_seconds", "Seconds the latest finished run took", end - start),
        ):
            Gauge(name, documentation, labels, registry=registry).labels(run.run_id, status).set(
                value
            )
        finished = Gauge(
            "kgv_runs_finished",
            "Runs of the job that ended with this status, as the instance records them",
            ["status"],
            registry=registry,
        )
        for each in FINISHED_STATUSES:
            count = instance.get_runs_count(dg.RunsFilter(job_name=run.job_name, statuses=[each]))
            finished.labels(each.value).set(count)
        _push(target, RUN_JOB, registry, {"dagster_job": run.job_name})
    except Exception as error:
        _warn(log, f"outcome of run {run.run_id}", target, error)
        return False
    return True
