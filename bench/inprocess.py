"""The benchmark's in-process runs: ``python -m bench.inprocess full|sensor|incremental``.

Run by the driver as a subprocess with KGV_PG_URL, KGV_SOURCE_URL and DAGSTER_HOME set. Imports
and loading the definitions happen before the clock starts, so the printed ``seconds`` are the
work (and Dagster's per-step orchestration) without the command line's fixed start-up:

- ``full``: ``full_migration`` over all partitions, ``job.execute_in_process`` (partitions
  registered first, untimed), and where its time went (``bench.stages``, read afterwards);
- ``sensor``: one evaluation of ``legacy_changes_sensor`` (fingerprint the source, compare with
  what was loaded, plan the runs; no run is executed);
- ``incremental``: the ``incremental_migration`` job (detect the changed partitions and reload
  them), as ``kgv migrate incremental`` runs it.

Prints one JSON line: seconds, success, peak RSS of this process, and what the run did.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import dagster as dg

from bench import stages
from kgv_assets.definitions import defs
from kgv_assets.partitions import all_partitions_tags, register_partition_keys
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.sync.operate import FULL_JOB, INCREMENTAL_JOB, run_job


def _full(instance: dg.DagsterInstance, definitions: dg.Definitions) -> dict[str, object]:
    source = LegacySourceResource(url=_env("KGV_SOURCE_URL"))
    register_partition_keys(instance, source.partition_keys())
    job = definitions.resolve_job_def(FULL_JOB)
    tags = all_partitions_tags(instance)
    started = time.perf_counter()
    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "success": result.success,
        "stages": stages.profile(instance, result.run_id, seconds),
    }


def _sensor(instance: dg.DagsterInstance, definitions: dg.Definitions) -> dict[str, object]:
    sensor = definitions.resolve_sensor_def("legacy_changes_sensor")
    resources = {
        "legacy_source": LegacySourceResource(url=_env("KGV_SOURCE_URL")),
        "postgres": PostgresResource(url=_env("KGV_PG_URL")),
    }
    started = time.perf_counter()
    with dg.build_sensor_context(
        instance=instance, definitions=definitions, resources=resources
    ) as context:
        result = sensor(context)
    seconds = time.perf_counter() - started
    requests = result.run_requests if isinstance(result, dg.SensorResult) else []
    return {
        "seconds": seconds,
        "success": True,
        "run_requests": len(requests or []),
        "partitions": sorted({r.partition_key or "range" for r in requests or []}),
    }


def _incremental(instance: dg.DagsterInstance, definitions: dg.Definitions) -> dict[str, object]:
    del definitions  # run_job loads the code location itself, as `kgv migrate` does
    started = time.perf_counter()
    result = run_job(INCREMENTAL_JOB, instance)
    return {"seconds": time.perf_counter() - started, "success": result.success}


MODES = {"full": _full, "sensor": _sensor, "incremental": _incremental}


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set")
    return value


def main(mode: str) -> None:
    """Run ``mode`` on the instance of DAGSTER_HOME and print its JSON line."""
    definitions = defs()
    with dg.DagsterInstance.get() as instance:
        outcome = MODES[mode](instance, definitions)
    outcome["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(outcome))  # noqa: T201  (the driver reads this line)


if __name__ == "__main__":
    main(sys.argv[1])
