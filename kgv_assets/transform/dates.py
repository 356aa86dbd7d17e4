"""Legacy datetimes → timestamptz.

The legacy system stored Europe/Berlin local time without zone. Each value is localised to
Europe/Berlin and stored as timestamptz (an instant), so daylight-saving changes are right:

- a local time that does not exist (the spring-forward gap, e.g. 2021-03-28 02:30) is moved
  forward to the first valid instant (03:00 CEST) — the clock the clerk saw had jumped;
- a local time that exists twice (the fall-back hour, e.g. 2021-10-31 02:30) is taken as the
  first occurrence (summer time, CEST), the earlier of the two instants.

Before 1901-12-14 pandas (through pytz, whose tables start with the first 32-bit transition)
localises with Berlin's local mean time rounded to +0:53 although CET (+1:00) was in force from
1893-04-01, and daylight saving began only in 1916. Such times get the offsets PostgreSQL and
``zoneinfo`` give: +1:00 from 1893-04-01 00:06:32 (the clocks jumped there from 00:00 mean
time: a gap, moved forward like the daylight-saving gaps), mean time (+0:53:28) before.

SQL Server's sentinel dates mean "no date": 1900-01-01 and 1753-01-01 (any time of day) →
NULL, reason ``sentinel``; 9999-12-31 → NULL, reason ``sentinel (open end)``. Other values
outside pandas' nanosecond range (years before 1678 or after 2261) → NULL, reason ``out of
range``; they never crash anything. The raw text is kept in ``legacy`` in every such case.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from kgv_assets.transform.conversion import Converted

TIMEZONE = "Europe/Berlin"
SENTINELS = ("1900-01-01", "1753-01-01")
OPEN_END = "9999-12-31"
_SAFE_YEARS = (1678, 2261)
_PANDAS_KNOWS_FROM = pd.Timestamp("1901-12-14")
_GAP_FROM, _CET_FROM = pd.Timestamp("1893-04-01 00:00:00"), pd.Timestamp("1893-04-01 00:06:32")


def _offset(day: dt.datetime) -> pd.Timedelta:
    offset = ZoneInfo(TIMEZONE).utcoffset(day)
    assert offset is not None, "a named zone always has an offset"
    return pd.Timedelta(offset)


_MEAN_TIME, _CET = _offset(dt.datetime(1890, 1, 1)), _offset(dt.datetime(1900, 1, 1))


def parse_legacy_datetime(s: pd.Series) -> Converted:
    """Europe/Berlin local time → timestamptz; sentinels and out-of-range values → NULL."""
    text = s.str.strip()
    present = text.notna() & (text != "")
    day = text.str[:10]
    sentinel = day.isin(SENTINELS)
    open_end = day == OPEN_END
    year = pd.to_numeric(text.str[:4], errors="coerce")
    in_range = year.between(*_SAFE_YEARS)
    usable = present & ~sentinel & ~open_end & in_range
    naive = pd.to_datetime(text.where(usable), format="ISO8601", errors="coerce")
    local = naive.dt.tz_localize(
        TIMEZONE,
        nonexistent="shift_forward",
        ambiguous=np.ones(len(naive), dtype=bool),
    )
    early = naive < _PANDAS_KNOWS_FROM
    if early.any():
        old = naive[early]
        utc = (old - _MEAN_TIME).where(
            old < _GAP_FROM, old.where(old >= _CET_FROM, _CET_FROM) - _CET
        )
        local = local.where(~early, utc.dt.tz_localize("UTC").dt.tz_convert(TIMEZONE))
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[present & sentinel] = "datetime: sentinel"
    reasons[present & open_end] = "datetime: sentinel (open end)"
    reasons[present & ~sentinel & ~open_end & year.notna() & ~in_range] = "datetime: out of range"
    reasons[present & ~sentinel & ~open_end & (year.isna() | (usable & naive.isna()))] = (
        "datetime: not a date"
    )
    return Converted(local, reasons)
