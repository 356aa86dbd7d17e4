"""The measured steps: the migration as users run it, in process, pgloader, the COPY floor.

Each step runs in its own fresh database and returns a ``StepResult``. Commands run through
``bench.measure.run`` (wall clock, CPU, peak memory of the process tree); the in-process steps
also report their own clock around the work (``work_seconds``), after imports and loading the
definitions.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from bench.databases import fresh_database
from bench.measure import Measurement, run
from bench.source import change_one_percent, working_copy

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtualenv's console scripts: kgv, dagster
PGLOADER_TEXT_CASTS = ("uniqueidentifier", "datetime", "int")


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

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


class StepFailed(RuntimeError):
    """A measured command failed: the benchmark stops rather than report a broken run."""


def _result(m: Measurement, rows: int, ok: bool, **detail: object) -> StepResult:
    return StepResult(
        round(m.seconds, 3),
        round(m.cpu_seconds, 3),
        round(m.peak_rss_mb, 1),
        ok,
        rows,
        None,
        detail,
    )


def _check(m: Measurement, what: str) -> None:
    if m.returncode != 0:
        raise StepFailed(
            f"{what} exited with {m.returncode}:\n{m.stdout[-3000:]}\n{m.stderr[-3000:]}"
        )


def _json_line(m: Measurement) -> dict[str, object]:
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
        "KGV_SOURCE_URL": f"sqlite:///{source}",
        "KGV_SOURCE_SCHEMA": "",
        "DAGSTER_HOME": str(home),
    }


def _accounted(pg_url: str) -> int:
    """Legacy rows the target stage accounts for (loaded + quarantined, all tables)."""
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(loaded_rows + quarantined_rows), 0)"
            " FROM migration.reconciliation WHERE stage = 'target'"
        ).fetchone()
    return int(row[0]) if row else 0


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def full_cli_then_incremental(
    source: Path, scratch: Path, legacy_rows: int, rep: int, incremental: bool = True
) -> dict[str, StepResult]:
    """``dagster job execute`` of full_migration; then 1 % changed, a sensor tick, the sync.

    The incremental part (unless ``incremental`` is false) works on a copy of the source,
    changed in place after the full run (the source as the sensor would see it the next day).
    """
    copy = working_copy(source, scratch, f"cli_rep{rep}")
    with fresh_database("cli") as pg_url:
        env = dagster_env(pg_url, copy, scratch / f"home_cli_rep{rep}")
        _check(run([str(BIN / "kgv"), "partitions", "sync"], env, ROOT), "kgv partitions sync")
        tags = run([str(BIN / "kgv"), "partitions", "range-tags"], env, ROOT)
        _check(tags, "kgv partitions range-tags")
        command = [str(BIN / "dagster"), "job", "execute", "-m", "kgv_assets.definitions"]
        full = run([*command, "-j", "full_migration", "--tags", tags.stdout.strip()], env, ROOT)
        _check(full, "dagster job execute full_migration")
        accounted = _accounted(pg_url)
        results = {"full_cli": _result(full, legacy_rows, accounted == legacy_rows)}
        if not incremental:
            copy.unlink(missing_ok=True)
            return results

        change = change_one_percent(copy)
        sensor = run(_python("bench.inprocess", "sensor"), env, ROOT)
        _check(sensor, "sensor tick")
        tick = _json_line(sensor)
        results["sensor_tick"] = _result(
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
        _check(sync, "incremental_migration")
        done = _json_line(sync)
        results["incremental"] = _result(
            sync,
            change.total,
            bool(done.get("success")) and _accounted(pg_url) == legacy_rows,
            changed_year=change.year,
            changed_rows=change.rows,
        )
        results["incremental"].work_seconds = round(float(done["seconds"]), 3)  # type: ignore[arg-type]
    copy.unlink(missing_ok=True)
    return results


def full_in_process(source: Path, scratch: Path, legacy_rows: int, rep: int) -> StepResult:
    """full_migration with ``execute_in_process``: the work without the CLI's start-up."""
    with fresh_database("inproc") as pg_url:
        env = dagster_env(pg_url, source, scratch / f"home_inproc_rep{rep}")
        m = run(_python("bench.inprocess", "full"), env, ROOT)
        _check(m, "in-process full_migration")
        outcome = _json_line(m)
        result = _result(
            m, legacy_rows, bool(outcome.get("success")) and _accounted(pg_url) == legacy_rows
        )
        result.work_seconds = round(float(outcome["seconds"]), 3)  # type: ignore[arg-type]
        return result


def pgloader(source: Path, scratch: Path, legacy_rows: int, *, all_text: bool) -> StepResult:
    """Pgloader from the SQLite file into an empty database, with its default settings.

    pgloader cannot create the tables from the file's SQL Server type names without a cast for
    ``uniqueidentifier``; that one cast is the minimum (``all_text=False``). With
    ``all_text=True`` the typed columns are cast to text too, so the rows SQL Server could never
    hold are copied as well instead of costing pgloader whole batches: the raw copy of the same
    rows the migration reads.
    """
    casts = PGLOADER_TEXT_CASTS if all_text else PGLOADER_TEXT_CASTS[:1]
    with fresh_database("pgloader", postgis=False) as pg_url:
        command = ["pgloader", "--root-dir", str(scratch / "pgloader")]
        for kind in casts:
            command += ["--cast", f"type {kind} to text"]
        m = run([*command, f"sqlite://{source}", pg_url], cwd=ROOT)
        _check(m, "pgloader")
        with psycopg.connect(pg_url) as conn:
            tables = conn.execute(
                "SELECT schemaname, tablename FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
            counts = (
                conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*t)))
                for t in tables
            )
            copied = sum(int(row[0]) for c in counts if (row := c.fetchone()))
        # With its defaults pgloader drops the batches its types reject: fewer rows, not a failure.
        return _result(m, copied, copied == legacy_rows or not all_text, rows_copied=copied)


def copy_floor(source: Path, legacy_rows: int) -> StepResult:
    """The bare psycopg COPY of the same rows into text columns (``bench.floor``)."""
    with fresh_database("floor", postgis=False) as pg_url:
        m = run(_python("bench.floor", str(source), pg_url), cwd=ROOT)
        _check(m, "COPY floor")
        outcome = _json_line(m)
        result = _result(m, legacy_rows, outcome.get("rows") == legacy_rows)
        result.work_seconds = round(float(outcome["seconds"]), 3)  # type: ignore[arg-type]
        return result
