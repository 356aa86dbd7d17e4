"""The benchmark's legacy source: the demo generator's SQLite file, and the 1 % change.

Sources are generated once per (scale, seed) into ``bench/results/tmp`` and reused; every step
that changes data works on its own copy.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.demo_data import generate

# The dated tables and a text column each that a clerk would edit (never a key or a date, so
# no row changes its partition and every changed row stays valid).
EDITABLE = {"Antrag": "an_Vermerk", "Verlauf": "verl_Hinweis"}
DATE_OF = {"Antrag": "an_Bewerbungsdatum", "Verlauf": "verl_Datum"}
CHANGED_MARK = "geändert (Benchmark) "


def source_path(directory: Path, scale: float, seed: int) -> Path:
    """The demo source of ``scale`` and ``seed`` (generated on first use)."""
    path = directory / f"kgv_demo_s{scale:g}_seed{seed}.sqlite"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")  # two benchmarks may race
        generate(partial, scale=scale, seed=seed)
        partial.rename(path)
    return path


def row_counts(path: Path) -> dict[str, int]:
    """Rows per legacy table, counted in the file."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {
            t.name: db.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in TABLES
        }


def working_copy(path: Path, directory: Path, name: str) -> Path:
    """A copy of the source that a step may change."""
    copy = directory / f"{name}.sqlite"
    shutil.copyfile(path, copy)
    return copy


@dataclass(frozen=True)
class Change:
    """What ``change_one_percent`` changed."""

    year: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        """Rows changed in all tables."""
        return sum(self.rows.values())


def change_one_percent(path: Path, fraction: float = 0.01) -> Change:
    """Change ``fraction`` of all legacy rows, all of them in the busiest year, in place.

    The rows are taken from Antrag and Verlauf of that year in proportion to their sizes, and a
    short text column of each is overwritten (``EDITABLE``, always with a valid value): the
    kind of change incremental sync exists for. The year is the one with the most rows in the
    two tables.
    """
    total = sum(row_counts(path).values())
    wanted = max(1, round(total * fraction))
    with sqlite3.connect(path) as db:
        per_year: dict[str, dict[str, int]] = {}
        for name, column in DATE_OF.items():
            for year, n in db.execute(
                f'SELECT strftime(\'%Y\', "{column}") AS y, count(*) FROM "{name}"'
                " WHERE y IS NOT NULL GROUP BY y"
            ):
                per_year.setdefault(year, {})[name] = n
        year = max(per_year, key=lambda y: sum(per_year[y].values()))
        in_year = per_year[year]
        available = sum(in_year.values())
        changed = {}
        for name, column in EDITABLE.items():
            n = min(in_year.get(name, 0), round(wanted * in_year.get(name, 0) / available))
            db.execute(
                f'UPDATE "{name}" SET "{column}" = ? || rowid'
                f' WHERE rowid IN (SELECT rowid FROM "{name}"'
                f" WHERE strftime('%Y', \"{DATE_OF[name]}\") = ? ORDER BY rowid LIMIT ?)",
                (CHANGED_MARK, year, n),
            )
            changed[name] = n
    return Change(year, changed)


def staged_text(source: Path, table: str) -> pd.DataFrame:
    """A legacy table of the demo source as the loaders get it: text (numbers too) or None."""
    with sqlite3.connect(source) as db:
        cursor = db.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        rows = [[v if v is None else str(v) for v in row] for row in cursor]
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    return frame.set_axis([f"r{i}" for i in range(len(frame))])
