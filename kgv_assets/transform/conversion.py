"""The result type every transformation function returns: converted values plus reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import pandas as pd

Frame = TypeVar("Frame", pd.Series, pd.DataFrame)


def or_none(values: Frame, keep: pd.Series | pd.DataFrame) -> Frame:
    """``values`` where ``keep`` holds, None elsewhere (None, not NaN, in object columns).

    pandas takes None as the replacement value; pandas-stubs does not admit it, hence the one
    ignore here rather than at every caller.
    """
    return values.where(keep, None)  # type: ignore[arg-type]


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
        object.__setattr__(self, "reasons", or_none(reasons, reasons.notna()))

    @property
    def failed(self) -> pd.Series:
        """True where a non-NULL input could not be converted."""
        return self.reasons.notna()
