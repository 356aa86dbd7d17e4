"""Micro-benchmark of the column rules on real demo chunks: ``python -m bench.rules``.

Reads the two big legacy tables (Antrag, Verlauf) of a demo source in staged form (chunks of
``CHUNK_ROWS`` rows, object columns of str/None, as ``load.target_table`` hands them to the
loaders) and times each rule's converter, ``apply_rules`` as a whole and the file reference
parsing ``ApplicationsLoader.transform`` adds, each twice on the same chunks: as the rules are
now (polars) and with today's pandas implementations in their place
(``kgv_assets.transform.oracles``). No database: the rules are pure. Best of ``--repeat``
runs, in seconds over all chunks; the phone and e-mail memories of written values are cleared
before each run, as in a fresh process.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd

from bench.source import source_path, staged_text
from kgv_assets.load.target_table import CHUNK_ROWS
from kgv_assets.transform import emails, file_references, phones
from kgv_assets.transform.oracles import with_oracles
from kgv_assets.transform.tables import application_history, applications
from kgv_assets.transform.tables.mapping import TableMapping, apply_rules

MAPPINGS = {"Antrag": applications.MAPPING, "Verlauf": application_history.MAPPING}


def staged_chunks(source: Path, table: str) -> list[pd.DataFrame]:
    """The rows of ``table`` as staged chunks (every value text or None)."""
    frame = staged_text(source, table)
    return [frame.iloc[i : i + CHUNK_ROWS] for i in range(0, len(frame), CHUNK_ROWS)]


def best(work: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``work``, in seconds."""
    times = []
    for _ in range(repeat):
        phones.WRITTEN.clear()
        emails.WRITTEN.clear()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _split_pandas(s: pd.Series) -> object:
    return file_references._parse_file_reference_pandas(s, dt.date.today())


def timings(
    mapping: TableMapping, chunks: list[pd.DataFrame], repeat: int, pandas: bool
) -> dict[str, float]:
    """Seconds over all chunks: per converter (summed over its columns) and per stage.

    With ``pandas``, today's pandas rules run in place of the polars ones.
    """
    rules = with_oracles(mapping) if pandas else mapping
    split = _split_pandas if pandas else file_references.parse_file_reference
    seconds: dict[str, float] = {}
    for named, rule in zip(mapping.rules, rules.rules, strict=True):
        if named.convert is None or rule.convert is None or rule.source is None:
            continue
        name = named.convert.__name__
        seconds[name] = seconds.get(name, 0.0) + best(
            lambda convert=rule.convert, source=rule.source: [convert(c[source]) for c in chunks],
            repeat,
        )
    if mapping is applications.MAPPING:
        seconds["parse_file_reference"] = best(
            lambda: [split(c["an_Aktenzeichen"]) for c in chunks], repeat
        )
    seconds["apply_rules"] = best(lambda: [apply_rules(rules, c) for c in chunks], repeat)
    return seconds


@click.command()
@click.option("--scale", type=float, default=1.0, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--repeat", type=int, default=3, show_default=True)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="where the demo source is generated (once) and reused",
)
def main(scale: float, seed: int, repeat: int, directory: Path) -> None:
    """Time the rules of Antrag and Verlauf on the demo source of ``scale``."""
    source = source_path(directory, scale, seed)
    for table, mapping in MAPPINGS.items():
        chunks = staged_chunks(source, table)
        rows = sum(len(c) for c in chunks)
        click.echo(f"{table}: {rows} rows in {len(chunks)} chunks")
        click.echo(f"  {'':<24} {'pandas':>8}   {'polars':>8}   ratio")
        before = timings(mapping, chunks, repeat, pandas=True)
        after = timings(mapping, chunks, repeat, pandas=False)
        for name, old in before.items():
            new = after[name]
            click.echo(f"  {name:<24} {old:8.3f} s {new:8.3f} s {old / new:6.2f}x")


if __name__ == "__main__":
    main()
