"""What a check found, in a form a person reads: a verdict, figures, a table, sample keys.

The Dagster layer (``kgv_assets/defs/checks``) turns an ``Outcome`` into an
``AssetCheckResult``. Everything in it is a count, a percentage, a partition, a rule or column
name, or a key (legacy IDs, codes, row hashes) — never a name, birthday, address, e-mail or
phone number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Severity = Literal["ERROR", "WARN"]
SAMPLE_SIZE = 5
"""How many example keys an outcome shows per finding."""


@dataclass(frozen=True)
class Outcome:
    """The result of one check.

    Attributes:
        passed: Whether the data satisfies the check.
        severity: How bad a failure is: ERROR (the migration is wrong) or WARN (the data is
            dirty, and the migration kept it and says so).
        summary: One sentence saying what was found (counts, never values).
        figures: Counts and percentages, shown as numbers in the UI.
        tables: Name → a small table of counts (per partition, per column, per rule).
        samples: Finding → a few example keys.
    """

    passed: bool
    severity: Severity
    summary: str
    figures: dict[str, int | float] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)


def percent(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole`` (0 for an empty whole), to two decimals."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def sample(keys: Iterable[object], size: int = SAMPLE_SIZE) -> list[str]:
    """The first ``size`` distinct keys in sorted order, as text."""
    return sorted({str(k) for k in keys})[:size]


def scope_label(partitions: Sequence[str] | None) -> str:
    """The partitions a check looked at, for people: 'all partitions' or '2019 … 2021 (3)'."""
    if partitions is None:
        return "all partitions"
    keys = list(partitions)
    if len(keys) == 1:
        return f"partition {keys[0]}"
    return f"partitions {keys[0]} … {keys[-1]} ({len(keys)})"
