"""arrow-odbc against pyodbc, reading the demo's largest table through one ODBC driver.

Production reads SQL Server through ODBC; here both readers go through Debian's SQLite ODBC
driver (``libsqliteodbc``) over the demo source, so the driver is the same for both and only
the client side differs: arrow-odbc's column buffers and Arrow arrays against pyodbc's tuple
per row. Each reader runs the resource's own path (``read_batches``: the statement, decoding,
partition and content hash), in one process, alternating, the best of ``--reps`` kept. The
note goes to ``bench/results/odbc.md``.

    docker/with-env.sh python -m bench.odbc [--scale 1] [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from bench.source import source_path
from kgv_assets.legacy.catalogue import table
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.odbc import OdbcSource, open_arrow_reader, pyodbc_chunks

RESULTS = Path(__file__).resolve().parent / "results"
TABLE = table("Verlauf")


class _SqliteOverOdbc(LegacySourceResource):
    """The SQLite file of ``url`` read through the SQLite ODBC driver, as SQL Server is read."""

    def odbc_source(self) -> OdbcSource | None:
        return OdbcSource(
            f"Driver=SQLite3;Database={make_url(self.url).database}", sqlite.dialect()
        )


def _seconds(source: LegacySourceResource) -> tuple[float, int]:
    """Wall-clock seconds of one whole read of the table, and the rows read."""
    started = time.perf_counter()
    rows = sum(batch.height for batch in source.read_batches(TABLE))
    return time.perf_counter() - started, rows


def _fetch_seconds(source: _SqliteOverOdbc, arrow: bool) -> float:
    """Seconds of the bare fetch: Arrow batches, or pyodbc's tuples into DataFrames."""
    odbc = source.odbc_source()
    assert odbc is not None
    sql, params = odbc.query(TABLE, None, None)
    started = time.perf_counter()
    if arrow:
        sum(r.num_rows for r in open_arrow_reader(odbc, sql, params, source.chunk_rows))
    else:
        names = [*TABLE.column_names, "_partition"]
        sum(len(c) for c in pyodbc_chunks(odbc, sql, params, names, source.chunk_rows))
    return time.perf_counter() - started


def main() -> None:
    """Measure both readers and write the note."""
    parser = argparse.ArgumentParser(description="arrow-odbc against pyodbc")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    path = source_path(RESULTS / "tmp", args.scale, args.seed)
    url = f"sqlite:///{path}"
    readers = {
        "arrow-odbc": _SqliteOverOdbc(url=url),
        "pyodbc": _SqliteOverOdbc(url=url, arrow_reader=False),
    }
    load = os.getloadavg()[0]
    best: dict[str, float] = {}
    fetch: dict[str, float] = {}
    counted: dict[str, int] = {}
    for _ in range(args.reps):
        for name, source in readers.items():
            seconds, rows = _seconds(source)
            best[name] = min(best.get(name, seconds), seconds)
            counted[name] = rows
            bare = _fetch_seconds(source, name == "arrow-odbc")
            fetch[name] = min(fetch.get(name, bare), bare)
    if len(set(counted.values())) != 1:
        raise SystemExit(f"the readers read different row counts: {counted}")
    rows = counted["pyodbc"]
    ratio = best["pyodbc"] / best["arrow-odbc"]
    lines = [
        "# arrow-odbc vs pyodbc through the SQLite ODBC driver",
        "",
        f"`docker/with-env.sh python -m bench.odbc --scale {args.scale:g} --reps {args.reps}`"
        f" ({platform.machine()}, {platform.python_version()}, best of {args.reps},"
        f" readers alternating in one process; load average {load:.1f} at the start on"
        f" {os.cpu_count()} cores: another benchmark shared the machine)",
        "",
        f"`{TABLE.name}`, {rows:,} rows, read by `LegacySourceResource.read_batches` (statement,"
        " decoding, partition, content hash):",
        "",
        "| reader | seconds | rows/s | bare fetch, seconds |",
        "|---|---:|---:|---:|",
        *(f"| {n} | {s:.2f} | {rows / s:,.0f} | {fetch[n]:.2f} |" for n, s in best.items()),
        "",
        f"**arrow-odbc is {ratio:.2f}x as fast as pyodbc** (pyodbc seconds / arrow-odbc seconds).",
        "",
        "Both readers go through the same driver, so the ratio is the client side's. The bare"
        " fetch is the read without decoding and hashing (Arrow batches; pyodbc's tuples into"
        " DataFrames, as `read_chunks` gives them); the rest is hashing, which arrow-odbc's"
        " batches do over Arrow bytes and pyodbc's chunks over one Python string per value."
        " Against SQL Server the driver and the network add time to both (arrow-odbc fetches"
        " the next row set while a batch is hashed): not measured here, there is none.",
    ]
    note = "\n".join(lines) + "\n"
    (RESULTS / "odbc.md").write_text(note, encoding="utf-8")
    print(note)  # noqa: T201


if __name__ == "__main__":
    main()
