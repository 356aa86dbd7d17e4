"""Column rules as data: legacy column → target column → conversion, applied vectorised.

Each per-table module in this package declares a ``TableMapping``: its rules say, column by
column, where a target value comes from and which pure function converts it; the mapping
document (``docs``/``kgv mapping``) is generated from these declarations, so it cannot drift
from the code. ``apply_rules`` runs the conversions over a chunk of staged rows and collects,
per row, the raw legacy values that did not convert into the ``legacy`` jsonb column.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import pandera.pandas as pa
import psycopg
from psycopg import sql

from kgv_assets.layout import TargetTable
from kgv_assets.legacy.catalogue import Table
from kgv_assets.transform.conversion import Converted
from kgv_assets.transform.text import clean_text

Converter = Callable[[pd.Series], Converted]


@dataclass(frozen=True)
class Rule:
    """One target column: its legacy source column and the conversion applied to it."""

    target: str
    source: str | None
    convert: Converter | None = None
    doc: str = ""

    @property
    def description(self) -> str:
        """The rule in words: ``doc``, else the first line of the converter's docstring."""
        if self.doc:
            return self.doc
        if self.convert is None:
            return "taken as is"
        return (self.convert.__doc__ or self.convert.__name__).strip().splitlines()[0]


def key_rule(column: str) -> Rule:
    """``id`` from the legacy uniqueidentifier ``column``, kept as the uuid primary key."""
    return Rule("id", column, doc="legacy uniqueidentifier kept as the uuid primary key")


def text_rules(**targets: str) -> tuple[Rule, ...]:
    """Text columns taken trimmed (``clean_text``): ``target_column="legacy_column"``, in order."""
    return tuple(Rule(target, source, clean_text) for target, source in targets.items())


def copies_note(key: str) -> str:
    """The note of a legacy table without a primary key: how copies of a row are told apart."""
    return (
        "Key-less legacy table: copies quarantined as `duplicate` / `conflicting duplicate` "
        f"by {key} (the first by partition and content hash is kept)."
    )


@dataclass(frozen=True)
class TableMapping:
    """How one legacy table becomes one target table (which one: ``kgv_assets.layout``)."""

    table: TargetTable
    rules: tuple[Rule, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    not_stored: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """Legacy columns with no target column of their own: (column, what happens to it)."""

    @property
    def legacy(self) -> Table:
        """The legacy table."""
        return self.table.legacy

    @property
    def source(self) -> str:
        """The legacy table's name (``Antrag``)."""
        return self.legacy.name

    @property
    def target(self) -> str:
        """The target table's name in ``kgv`` (``applications``)."""
        return self.table.name

    @property
    def key(self) -> tuple[str, ...]:
        """The target table's key columns."""
        return self.table.key

    @property
    def target_columns(self) -> list[str]:
        """The target columns the rules fill, in rule order."""
        return [r.target for r in self.rules]


@dataclass
class Transformed:
    """One chunk after the table's transformation.

    ``rows`` holds the target columns (the mapping's, plus ``legacy``) indexed like the staged
    chunk; ``rejected`` maps each rejected staged row's label to its list of reasons.
    """

    rows: pd.DataFrame
    rejected: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))


class TableLoader(Protocol):
    """What a per-table module provides (see ``kgv_assets.transform.tables``)."""

    @property
    def mapping(self) -> TableMapping:
        """The table's column rules."""
        ...

    @property
    def parents(self) -> tuple[str, ...]:
        """Target tables whose rows this one references (loaded before it)."""
        ...

    @property
    def looked_up(self) -> Mapping[str, tuple[str, ...]]:
        """Parent table -> the columns of it the transformation looks up."""
        ...

    @property
    def schema(self) -> pa.DataFrameSchema:
        """The target pandera schema the converted rows must pass."""
        ...

    def prepare(self, conn: psycopg.Connection) -> None:
        """Read what the transformation looks up (once per load, before the first chunk)."""
        ...

    def lookups(self) -> dict[str, sql.Composable]:
        """Extra columns computed by PostgreSQL next to each staged row (e.g. parent exists)."""
        ...

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:
        """Convert a chunk of staged rows (legacy columns as text) into target rows."""
        ...


class RuleLoader:
    """A loader whose rows are exactly its mapping's rules; subclasses add table logic."""

    mapping: TableMapping
    schema: pa.DataFrameSchema
    parents: tuple[str, ...] = ()
    # Parent table -> the columns of it the transformation looks up, for the tables whose rows
    # depend on parent rows in other partitions (kgv_assets.sync.dependencies).
    looked_up: Mapping[str, tuple[str, ...]] = {}

    def prepare(self, conn: psycopg.Connection) -> None:
        """Nothing to look up by default."""

    def lookups(self) -> dict[str, sql.Composable]:
        """No extra columns by default."""
        return {}

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:
        """Apply the rules; raw values that did not convert go to ``legacy``."""
        rows, legacy = apply_rules(self.mapping, staged)
        return Transformed(rows.assign(legacy=legacy))


def apply_rules(mapping: TableMapping, staged: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Convert a chunk of staged rows.

    Returns:
        The target columns (same index as ``staged``), and per row the ``legacy`` dict of raw
        values that did not convert (None where everything converted).
    """
    out: dict[str, pd.Series] = {}
    failed: dict[str, pd.Series] = {}
    for rule in mapping.rules:
        if rule.source is None:
            out[rule.target] = pd.Series(None, index=staged.index, dtype=object)
            continue
        raw = staged[rule.source]
        if rule.convert is None:
            out[rule.target] = raw
            continue
        converted = rule.convert(raw)
        out[rule.target] = converted.values
        if converted.failed.any():
            failed[rule.source] = raw.where(converted.failed)
    frame = pd.DataFrame(out, index=staged.index)
    return frame, legacy_values(pd.DataFrame(failed, index=staged.index))


def legacy_values(raw: pd.DataFrame) -> pd.Series:
    """Per row, ``{legacy column: raw value}`` of the non-NULL cells of ``raw``; None if none.

    Built column by column over the non-NULL cells only (a chunk has many rows and few failed
    cells); each dict has its keys in column order, as a row-by-row build would.
    """
    result = pd.Series(None, index=raw.index, dtype=object)
    if raw.empty or raw.columns.empty:
        return result
    cells = raw.notna().to_numpy()
    rows = np.flatnonzero(cells.any(axis=1))
    if len(rows):
        slot = np.zeros(len(raw), dtype=np.int64)
        slot[rows] = np.arange(len(rows))
        records: list[dict[Hashable, object]] = [{} for _ in rows]
        for j, column in enumerate(raw.columns):
            values = raw.iloc[:, j].to_numpy(dtype=object)
            for i in np.flatnonzero(cells[:, j]).tolist():
                records[slot[i]][column] = values[i]
        labels = raw.index[rows]
        result.loc[labels] = pd.Series(records, index=labels, dtype=object)
    return result


def merge_legacy(*parts: pd.Series) -> pd.Series:
    """Combine several per-row ``legacy`` dict Series (None where empty)."""
    frame = pd.concat(parts, axis=1)
    has = frame.notna().any(axis=1)
    result = pd.Series(None, index=frame.index, dtype=object)
    if has.any():
        merged = [
            {k: v for d in row if isinstance(d, dict) for k, v in d.items()}
            for row in frame[has].itertuples(index=False)
        ]
        result.loc[has[has].index] = pd.Series(merged, index=has[has].index, dtype=object)
    return result


def reasons_where(conditions: dict[str, pd.Series]) -> pd.Series:
    """Per row where any condition holds, the list of those conditions' reasons."""
    if not conditions:
        return pd.Series(dtype=object)
    frame = pd.DataFrame(conditions).fillna(False).astype(bool)
    hit = frame[frame.any(axis=1)]
    names = list(frame.columns)
    return pd.Series(
        [[n for n, v in zip(names, row, strict=True) if v] for row in hit.itertuples(index=False)],
        index=hit.index,
        dtype=object,
    )
