"""Which dumps to keep: the city's retention policy as a pure function.

Daily for 30 days, weekly for 12 weeks, monthly for 12 months, archive-tagged forever — in
the calendar of ``Policy.timezone`` (Europe/Berlin, like the schedules). In each day of the
last 30 (today included), each ISO week of the last 12 and each month of the last 12, the
newest copy is kept; so is every copy tagged ``archive``, the newest copy of all, and the
newest copy whose last restore test passed (so pruning never removes the only verified one).
Everything else is deleted. Each decision names the rule that kept the copy — the first of
archive, newest, daily, weekly, monthly, newest verified that applies.

Pruning is idempotent: deciding again over the copies kept, at the same moment, keeps them
all (each was the newest of its day, week or month, or kept by a rule about itself).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

ARCHIVE_TAG = "archive"
RULES = ("archive", "newest", "daily", "weekly", "monthly", "newest verified")


@dataclass(frozen=True)
class Copy:
    """One backup as retention sees it."""

    name: str
    taken_at: datetime
    """When it was taken (timezone-aware)."""
    archive: bool = False
    verified: bool = False
    """True when its last restore test passed."""


@dataclass(frozen=True)
class Policy:
    """How many days, weeks and months keep a copy each."""

    daily: int = 30
    weekly: int = 12
    monthly: int = 12
    timezone: str = "Europe/Berlin"


@dataclass(frozen=True)
class Decision:
    """Keep or delete one copy, and why."""

    copy: Copy
    keep: bool
    rule: str
    """The rule that kept it (one of RULES), or ``expired``."""


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _newest_per_bucket(copies: list[Copy], bucket: Callable[[Copy], Hashable | None]) -> set[str]:
    """Names of the newest copy in each bucket (copies whose bucket is None are ignored)."""
    newest: dict[Hashable, Copy] = {}
    for c in copies:
        key = bucket(c)
        if key is not None and (key not in newest or _order(c) > _order(newest[key])):
            newest[key] = c
    return {c.name for c in newest.values()}


def _order(c: Copy) -> tuple[datetime, str]:
    return (c.taken_at, c.name)


def decide(copies: Iterable[Copy], now: datetime, policy: Policy = Policy()) -> list[Decision]:
    """Keep or delete each copy at the moment ``now``; newest first.

    Args:
        copies: The backups (unique names, aware times).
        now: The moment of pruning (aware).
        policy: The windows and the calendar's timezone.
    """
    items = sorted(copies, key=_order, reverse=True)
    if not items:
        return []
    zone = ZoneInfo(policy.timezone)
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    this_month = _month_index(today)

    def day(c: Copy) -> date:
        return c.taken_at.astimezone(zone).date()

    def daily(c: Copy) -> date | None:
        d = day(c)
        return d if 0 <= (today - d).days < policy.daily else None

    def weekly(c: Copy) -> date | None:
        monday = day(c) - timedelta(days=day(c).weekday())
        return monday if 0 <= (this_monday - monday).days // 7 < policy.weekly else None

    def monthly(c: Copy) -> int | None:
        m = _month_index(day(c))
        return m if 0 <= this_month - m < policy.monthly else None

    verified = [c for c in items if c.verified]
    kept_by = {
        "archive": {c.name for c in items if c.archive},
        "newest": {items[0].name},
        "daily": _newest_per_bucket(items, daily),
        "weekly": _newest_per_bucket(items, weekly),
        "monthly": _newest_per_bucket(items, monthly),
        "newest verified": {verified[0].name} if verified else set(),
    }
    out = []
    for c in items:
        rule = next((r for r in RULES if c.name in kept_by[r]), None)
        out.append(Decision(c, rule is not None, rule or "expired"))
    return out
