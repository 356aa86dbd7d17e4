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
import polars as pl

from kgv_assets.transform.conversion import Converted, strip, to_polars

TIMEZONE = "Europe/Berlin"
SENTINELS = ("1900-01-01", "1753-01-01")
OPEN_END = "9999-12-31"
_SAFE_YEARS = (1678, 2261)
_PANDAS_KNOWS_FROM = pd.Timestamp("1901-12-14")
_GAP_FROM, _CET_FROM = pd.Timestamp("1893-04-01 00:00:00"), pd.Timestamp("1893-04-01 00:06:32")
SENTINEL = "datetime: sentinel"
SENTINEL_OPEN_END = "datetime: sentinel (open end)"
OUT_OF_RANGE = "datetime: out of range"
NOT_A_DATE = "datetime: not a date"
# Local times polars localises (see parse_legacy_datetime); the tests compare every hour of it.
_POLARS_WINDOW = (dt.datetime(1902, 1, 1), dt.datetime(2037, 1, 1))
# The extractor's shapes, decided in polars; fields at fixed places (ASCII).
_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?)?$"
_FIELDS = {"y": (0, 4), "m": (5, 2), "d": (8, 2), "h": (11, 2), "mi": (14, 2), "s": (17, 2)}
_NS = {"h": 3_600_000_000_000, "mi": 60_000_000_000, "s": 1_000_000_000}
_LIMITS = {"m": 12, "h": 23, "mi": 59, "s": 59}


def _offset(day: dt.datetime) -> pd.Timedelta:
    offset = ZoneInfo(TIMEZONE).utcoffset(day)
    assert offset is not None, "a named zone always has an offset"
    return pd.Timedelta(offset)


_MEAN_TIME, _CET = _offset(dt.datetime(1890, 1, 1)), _offset(dt.datetime(1900, 1, 1))


def parse_legacy_datetime(s: pd.Series) -> Converted:
    """Europe/Berlin local time → timestamptz; sentinels and out-of-range values → NULL.

    Polars decides the values of the extractor's shape ('2021-03-28 02:30:00.000', or the
    date alone) within ``_POLARS_WINDOW`` (where its time-zone data and pandas' agree: pandas'
    pytz tables have no daylight saving after 2037, and pre-1902 times get the rule of the
    module docstring), outside the spring-forward gaps, and every sentinel and out-of-range
    year; pandas decides every other value (other ISO 8601 spellings, gaps, early and late
    times, impossible dates), as before.
    """
    text = to_polars(s)
    if text is None:
        return _parse_legacy_datetime_pandas(s)
    out = _instants(text)
    utc = out["utc"].fill_null(np.iinfo(np.int64).min).to_numpy(writable=True)  # min: NaT
    reasons = out["reason"].to_pandas().to_numpy()
    rest = (~out["decided"]).to_numpy()
    if rest.any():
        fallback = _parse_legacy_datetime_pandas(s[rest])
        utc[rest] = fallback.values.array.asi8  # type: ignore[attr-defined]
        reasons[rest] = fallback.reasons.to_numpy()
    local = pd.DatetimeIndex(utc.view("datetime64[ns]")).tz_localize("UTC").tz_convert(TIMEZONE)
    return Converted(
        pd.Series(local, index=s.index, name=s.name),
        pd.Series(reasons, index=s.index, dtype=object),
    )


def _days_from_civil(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)."""
    y = y - (m <= 2).cast(pl.Int64)
    era = y.floordiv(400)
    yoe = y - era * 400
    doy = (153 * (m + pl.when(m > 2).then(-3).otherwise(9)) + 2).floordiv(5) + d - 1
    return era * 146_097 + yoe * 365 + yoe.floordiv(4) - yoe.floordiv(100) + doy - 719_468


def _days_in_month(y: pl.Expr, m: pl.Expr) -> pl.Expr:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return (
        pl.when(m == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(m.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )


def _instants(text: pl.Series) -> pl.DataFrame:
    """UTC nanoseconds, the reason and whether polars decided it, per value (see above)."""
    t = pl.col("text")
    field = {k: t.str.slice(*at).cast(pl.Int64, strict=False) for k, at in _FIELDS.items()}
    frame = (
        pl.DataFrame({"text": text})
        .with_columns(strip(t))
        .with_columns(
            shaped=t.str.contains(_SHAPE),
            day=t.str.slice(0, 10),
            year=t.str.slice(0, 4).cast(pl.Int32, strict=False),
        )
        .with_columns(
            **{k: pl.when(pl.col("shaped")).then(e.fill_null(0)) for k, e in field.items()},
            f=pl.when(pl.col("shaped")).then(t.str.slice(20).str.pad_end(9, "0").cast(pl.Int64)),
        )
    )
    y, m, d = pl.col("y"), pl.col("m"), pl.col("d")
    in_range = pl.col("year").is_between(*_SAFE_YEARS)
    valid = (
        pl.all_horizontal(pl.col(k) <= limit for k, limit in _LIMITS.items())
        & (m >= 1)
        & (d >= 1)
        & (d <= _days_in_month(y, m))
    )
    naive = (
        _days_from_civil(y, m, d) * (24 * _NS["h"])
        + pl.sum_horizontal(pl.col(k) * n for k, n in _NS.items())
        + pl.col("f")
    )
    window = [pl.lit(w).cast(pl.Datetime("ns")).cast(pl.Int64) for w in _POLARS_WINDOW]
    frame = frame.with_columns(
        present=t.is_not_null() & (t != ""),
        sentinel=pl.col("day").is_in(SENTINELS),
        open_end=pl.col("day") == OPEN_END,
        in_range=in_range,
        naive=pl.when(in_range & valid).then(naive),
    ).with_columns(
        utc=pl.when(pl.col("naive").is_between(*window, closed="left"))
        .then(pl.col("naive"))
        .cast(pl.Datetime("ns"))
        .dt.replace_time_zone(TIMEZONE, ambiguous="earliest", non_existent="null")
        .cast(pl.Int64),
    )
    present, sentinel, open_end = pl.col("present"), pl.col("sentinel"), pl.col("open_end")
    shaped, utc = pl.col("shaped"), pl.col("utc")
    reason = (
        pl.when(~present)
        .then(None)
        .when(sentinel)
        .then(pl.lit(SENTINEL))
        .when(open_end)
        .then(pl.lit(SENTINEL_OPEN_END))
        .when(shaped & ~pl.col("in_range"))
        .then(pl.lit(OUT_OF_RANGE))
    )
    decided = (
        ~present | sentinel | open_end | (shaped & (~pl.col("in_range") | utc.is_not_null()))
    ).fill_null(False)
    return frame.select(
        pl.when(decided).then(utc).alias("utc"),
        pl.when(decided).then(reason).alias("reason"),
        decided.alias("decided"),
    )


def _parse_legacy_datetime_pandas(s: pd.Series) -> Converted:
    """``parse_legacy_datetime`` in pandas: for what polars leaves, and its tests' oracle."""
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
    reasons[present & sentinel] = SENTINEL
    reasons[present & open_end] = SENTINEL_OPEN_END
    reasons[present & ~sentinel & ~open_end & year.notna() & ~in_range] = OUT_OF_RANGE
    reasons[present & ~sentinel & ~open_end & (year.isna() | (usable & naive.isna()))] = NOT_A_DATE
    return Converted(local, reasons)
