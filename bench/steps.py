"""The measured steps: the migration as users run it, in process, the COPY and schema floors.

Each step runs in its own fresh database and returns a ``StepResult``. Commands run through
``bench.measure.run`` (wall clock, CPU of the process tree, of the PostgreSQL server and of the
machine, peak memory of the process tree); the in-process steps also report their own clock
around the work (``work_seconds``), after imports and loading the definitions. The peers are in
``bench.peers``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from bench import schema_floor
from bench.databases import fresh_database
from bench.measure import Measurement, run
from bench.source import change_one_percent, working_copy

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtualenv's console scripts: kgv, dagster


@dataclass
class StepResult:
    """One repetition of one step."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    ok: bool
    rows: int
    work_seconds: float | None = None
    detail: dict[str, object] = field(default_factory=dict)
    server_cpu_seconds: float | None = None
    machine_cpu_seconds: float | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


class StepFailed(RuntimeError):
    """A measured command failed: the benchmark stops rather than report a broken run."""


def step_result(m: Measurement, rows: int, ok: bool, **detail: object) -> StepResult:
    """A measured command's result: ``rows`` it handled, whether it did what it should."""
    return StepResult(
        round(m.seconds, 3),
        round(m.cpu_seconds, 3),
        round(m.peak_rss_mb, 1),
        ok,
        rows,
        None,
        detail,
        m.server_cpu_seconds,
        m.machine_cpu_seconds,
    )


def check_exit(m: Measurement, what: str) -> None:
    """Raise ``StepFailed`` unless the command exited 0."""
    if m.returncode != 0:
        raise StepFailed(
            f"{what} exited with {m.returncode}:\n{m.stdout[-3000:]}\n{m.stderr[-3000:]}"
        )


def json_line(m: Measurement) -> dict[str, object]:
    """The command's result: the last line of its output that is a JSON object."""
    for line in reversed(m.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise StepFailed(f"no result line in:\n{m.stdout[-2000:]}\n{m.stderr[-2000:]}")


def dagster_env(pg_url: str, source: Path, home: Path) -> dict[str, str]:
    """The environment of a Dagster run on a real instance in ``home`` (dagster.yaml linked)."""
    home.mkdir(parents=True, exist_ok=True)
    link = home / "dagster.yaml"
    if not link.exists():
        link.symlink_to(ROOT / "dagster.yaml")
    return {
        **os.environ,
        "KGV_PG_URL": pg_url,
        "KGV_DAGSTER_PG_URL": pg_url,  # the instance's storage in the run's database (dagster.yaml)
        "KGV_SOURCE_URL": f"sqlite:///{source}",
        "KGV_SOURCE_SCHEMA": "",
        "DAGSTER_HOME": str(home),
    }


def accounted(pg_url: str) -> dict[str, int]:
    """Per legacy table: rows the target stage accounts for (loaded + quarantined)."""
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT source_table, sum(loaded_rows + quarantined_rows)::bigint"
            " FROM migration.reconciliation WHERE stage = 'target' GROUP BY source_table"
        ).fetchall()
    return {str(t): int(n) for t, n in rows}


def _accounting(pg_url: str, counts: Mapping[str, int]) -> dict[str, object]:
    """The migration's own answer to "how many rows dropped": legacy rows it cannot account for.

    Per table, |source rows - (loaded + quarantined)|; the migration converts values by its
    rules and keeps every quarantined row with its original values, so it alters nothing
    silently: the altered count is the accounting's, 0 unless the identity is broken.
    """
    found = accounted(pg_url)
    unaccounted = sum(abs(n - found.get(t, 0)) for t, n in counts.items())
    return {
        "copied_rows": sum(found.get(t, 0) for t in counts),
        "dropped_rows": unaccounted,
        "altered_rows": 0 if unaccounted == 0 else None,
        "source_rows": sum(counts.values()),
    }


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def full_cli_then_incremental(
    source: Path, scratch: Path, counts: Mapping[str, int], rep: int, incremental: bool = True
) -> dict[str, StepResult]:
    """``dagster job execute`` of full_migration; then 1 % changed, a sensor tick, the sync.

    The incremental part (unless ``incremental`` is false) works on a copy of the source,
    changed in place after the full run (the source as the sensor would see it the next day).
    """
    legacy_rows = sum(counts.values())
    copy = working_copy(source, scratch, f"cli_rep{rep}")
    with fresh_database("cli") as pg_url:
        env = dagster_env(pg_url, copy, scratch / f"home_cli_rep{rep}")
        check_exit(run([str(BIN / "kgv"), "partitions", "sync"], env, ROOT), "kgv partitions sync")
        tags = run([str(BIN / "kgv"), "partitions", "range-tags"], env, ROOT)
        check_exit(tags, "kgv partitions range-tags")
        command = [str(BIN / "dagster"), "job", "execute", "-m", "kgv_assets.definitions"]
        full = run([*command, "-j", "full_migration", "--tags", tags.stdout.strip()], env, ROOT)
        check_exit(full, "dagster job execute full_migration")
        accounting = _accounting(pg_url, counts)
        results = {
            "full_cli": step_result(
                full, legacy_rows, accounting["dropped_rows"] == 0, **accounting
            )
        }
        if not incremental:
            copy.unlink(missing_ok=True)
            return results

        change = change_one_percent(copy)
        sensor = run(_python("bench.inprocess", "sensor"), env, ROOT)
        check_exit(sensor, "sensor tick")
        tick = json_line(sensor)
        results["sensor_tick"] = step_result(
            sensor,
            change.total,
            bool(tick.get("run_requests")),
            run_requests=tick.get("run_requests"),
            partitions=tick.get("partitions"),
            changed_year=change.year,
            changed_rows=change.rows,
        )
        results["sensor_tick"].work_seconds = round(float(tick["seconds"]), 3)  # type: ignore[arg-type]

        sync = run(_python("bench.inprocess", "incremental"), env, ROOT)
        check_exit(sync, "incremental_migration")
        done = json_line(sync)
        results["incremental"] = step_result(
            sync,
            change.total,
            bool(done.get("success")) and _accounting(pg_url, counts)["dropped_rows"] == 0,
            changed_year=change.year,
            changed_rows=change.rows,
        )
        results["incremental"].work_seconds = round(float(done["seconds"]), 3)  # type: ignore[arg-type]
    copy.unlink(missing_ok=True)
    return results


def full_in_process(
    source: Path, scratch: Path, counts: Mapping[str, int], rep: int, dump: Path | None = None
) -> StepResult:
    """full_migration with ``execute_in_process``: the work without the CLI's start-up.

    The result's detail holds the run's stage profile (``bench.stages``) and the accounting;
    with ``dump`` the migrated ``kgv`` tables are written there for the schema floor (after
    the measurement).
    """
    legacy_rows = sum(counts.values())
    with fresh_database("inproc") as pg_url:
        env = dagster_env(pg_url, source, scratch / f"home_inproc_rep{rep}")
        m = run(_python("bench.inprocess", "full"), env, ROOT)
        check_exit(m, "in-process full_migration")
        outcome = json_line(m)
        accounting = _accounting(pg_url, counts)
        ok = bool(outcome.get("success")) and accounting["dropped_rows"] == 0
        result = step_result(m, legacy_rows, ok, stages=outcome.get("stages"), **accounting)
        result.work_seconds = round(float(outcome["seconds"]), 3)  # type: ignore[arg-type]
        if dump is not None:
            result.detail["target_rows"] = schema_floor.dump(pg_url, dump)
        return result


def copy_floor(source: Path, legacy_rows: int) -> StepResult:
    """The bare psycopg COPY of the same rows into text columns (``bench.floor``)."""
    with fresh_database("floor", postgis=False) as pg_url:
        m = run(_python("bench.floor", str(source), pg_url), cwd=ROOT)
        check_exit(m, "COPY floor")
        outcome = json_line(m)
        result = step_result(m, legacy_rows, outcome.get("rows") == legacy_rows)
        result.work_seconds = round(float(outcome["seconds"]), 3)  # type: ignore[arg-type]
        return result


def target_floor(dump: Path, target_rows: int) -> StepResult:
    """The schema floor: the migrated target rows bulk-loaded into the target DDL."""
    with fresh_database("schema_floor") as pg_url:
        m = run(_python("bench.schema_floor", str(dump), pg_url), cwd=ROOT)
        check_exit(m, "schema floor")
        outcome = json_line(m)
        result = step_result(
            m,
            int(outcome["rows"]),  # type: ignore[arg-type]
            outcome.get("rows") == target_rows,
            **{k: round(float(v), 3) for k, v in outcome.items() if k.endswith("_seconds")},  # type: ignore[arg-type]
        )
        result.work_seconds = round(float(outcome["seconds"]), 3)  # type: ignore[arg-type]
        return result
