"""The peers: pgloader, sling and dlt copying the same legacy rows into an empty database.

Each runs as a command (``bench.measure.run``: wall clock, CPU, peak memory of its process
tree) into a fresh database, with the options it needs to copy this data at all, and is then
compared with the source table by table (``bench.fidelity``): rows copied, dropped and altered.

- pgloader (Debian's package): the SQLite file as is; ``uniqueidentifier`` must be cast to text
  for it to create the tables at all. With every typed column cast to text too it is the raw
  copy of every row; with its defaults it drops each batch holding a value its types reject.
  Either way it cuts text at the first NUL byte and exits 0.
- sling (the ``sling-linux-amd64`` wheel, whose package holds the binary): a replication of
  every table with ``columns: {'*': string}`` (else ``12a`` in an int column aborts the stream)
  and the ``replace_0x00`` transform (else PostgreSQL rejects the first NUL byte).
- dlt: ``sql_database`` with the pyarrow backend into ``postgres`` (``bench.peer_dlt``: every
  column as text, U+0000 removed).

sling and dlt are bench dependencies (the dev extra), imported only by their own runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from bench import fidelity
from bench.databases import fresh_database
from bench.measure import Measurement, run
from bench.steps import ROOT, StepResult, check_exit, json_line, step_result
from kgv_assets.legacy.catalogue import TABLES

PGLOADER_TEXT_CASTS = ("uniqueidentifier", "datetime", "int")
SLING_OPTIONS = """\
defaults:
  object: 'public.{stream_table}'
  mode: full-refresh
  columns:
    '*': string
  transforms: [replace_0x00]
"""


def _compared(
    m: Measurement, pg_url: str, hashes: Mapping[str, pl.DataFrame], legacy_rows: int, **extra
) -> StepResult:
    """The peer's step result with its fidelity: per table and in total."""
    tables = fidelity.compare(pg_url, hashes)
    total = fidelity.totals(tables)
    ok = all(t.found for t in tables)
    result = step_result(m, total["copied_rows"], ok, **extra)
    result.detail |= {**total, "tables": [t.as_dict() for t in tables], "source_rows": legacy_rows}
    return result


def pgloader(
    source: Path,
    scratch: Path,
    legacy_rows: int,
    hashes: Mapping[str, pl.DataFrame],
    *,
    all_text: bool,
) -> StepResult:
    """Run pgloader on the SQLite file: every column as text, or its defaults (+ the GUID cast)."""
    casts = PGLOADER_TEXT_CASTS if all_text else PGLOADER_TEXT_CASTS[:1]
    with fresh_database("pgloader", postgis=False) as pg_url:
        command = ["pgloader", "--root-dir", str(scratch / "pgloader")]
        for kind in casts:
            command += ["--cast", f"type {kind} to text"]
        m = run([*command, f"sqlite://{source}", pg_url], cwd=ROOT)
        check_exit(m, "pgloader")
        return _compared(m, pg_url, hashes, legacy_rows)


def sling_binary() -> str:
    """The sling executable inside the installed ``sling-linux-amd64`` wheel."""
    try:
        from sling_linux_amd64 import SLING_BIN  # a bench dependency: imported when used
    except ImportError as missing:
        raise RuntimeError(
            "sling is not installed: the sling-linux-amd64 wheel comes with the dev extra"
        ) from missing
    return SLING_BIN


def sling(
    source: Path, scratch: Path, legacy_rows: int, hashes: Mapping[str, pl.DataFrame]
) -> StepResult:
    """Run sling's replication of every legacy table (all columns as strings, NUL replaced)."""
    replication = scratch / "sling_replication.yaml"
    streams = "".join(f"  main.{t.name}:\n" for t in TABLES)
    replication.write_text(
        f"source: BENCH_SOURCE\ntarget: BENCH_TARGET\n{SLING_OPTIONS}streams:\n{streams}"
    )
    with fresh_database("sling", postgis=False) as pg_url:
        env = {
            **os.environ,
            "BENCH_SOURCE": f"sqlite://{source}",
            "BENCH_TARGET": f"{pg_url}?sslmode=disable",
            "SLING_HOME_DIR": str(scratch / "sling_home"),
        }
        m = run([sling_binary(), "run", "-r", str(replication)], env, ROOT)
        check_exit(m, "sling")
        return _compared(m, pg_url, hashes, legacy_rows)


def dlt(
    source: Path, scratch: Path, legacy_rows: int, hashes: Mapping[str, pl.DataFrame]
) -> StepResult:
    """Run dlt's ``sql_database`` → ``postgres`` pipeline (``bench.peer_dlt``)."""
    with fresh_database("dlt", postgis=False) as pg_url:
        env = {**os.environ, "DLT_DATA_DIR": str(scratch / "dlt"), "RUNTIME__LOG_LEVEL": "ERROR"}
        m = run([sys.executable, "-m", "bench.peer_dlt", str(source), pg_url], env, ROOT)
        check_exit(m, "dlt")
        outcome = json_line(m)
        if not outcome.get("success"):
            raise RuntimeError(f"dlt failed: {outcome.get('error')}")
        result = _compared(m, pg_url, hashes, legacy_rows)
        result.work_seconds = round(float(outcome["seconds"]), 3)  # type: ignore[arg-type]
        return result
