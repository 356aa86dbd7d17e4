"""The result type every transformation function returns: converted values plus reasons."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Converted:
    """Values converted from one legacy column, and why some could not be converted.

    ``values`` and ``reasons`` share the input's index. A NULL (or blank) input gives a NULL
    value and no reason. An input that could not be converted gives a NULL value and a short
    reason (for example ``"birthday: impossible date"``); the caller keeps the raw value in the
    target row's ``legacy`` jsonb. Reasons never contain the value itself (it may be personal
    data): only what was wrong with it.
    """

    values: pd.Series
    reasons: pd.Series

    def __post_init__(self) -> None:
        """Reasons are str or None (never NaN), whatever pandas did on the way."""
        reasons = self.reasons.astype(object)
        object.__setattr__(self, "reasons", reasons.where(reasons.notna(), None))

    @property
    def failed(self) -> pd.Series:
        """True where a non-NULL input could not be converted."""
        return self.reasons.notna()
