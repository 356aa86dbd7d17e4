"""The retention policy as a pure function: two years of daily dumps, and its properties.

The expected set over two years is written out by hand (calendar days, ISO weeks and months in
Europe/Berlin), not recomputed; hypothesis then checks what must hold for any set of copies:
the newest copy is never deleted, nor an archive-tagged one, nor the newest verified one (so
never the only verified copy); pruning what is left changes nothing; every decision names a
rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from kgv_assets.backup.retention import RULES, Copy, Policy, decide

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=BERLIN)  # a Tuesday


def _daily_copies(first: date, last: date, archive: set[date], verified: set[date]) -> list[Copy]:
    out, day = [], first
    while day <= last:
        taken = datetime(day.year, day.month, day.day, 2, 0, tzinfo=BERLIN)
        out.append(Copy(day.isoformat(), taken, archive=day in archive, verified=day in verified))
        day += timedelta(days=1)
    return out


def test_two_years_of_daily_dumps_keep_exactly_the_expected_set() -> None:
    copies = _daily_copies(
        date(2024, 7, 1),
        date(2026, 6, 30),
        archive={date(2024, 12, 31), date(2025, 3, 15)},
        verified={date(2024, 8, 10)},
    )
    kept = {d.copy.name: d.rule for d in decide(copies, NOW) if d.keep}

    expected = {"2026-06-30": "newest"}
    expected |= {f"2026-06-{d:02d}": "daily" for d in range(1, 30)}  # 30 days, today included
    # The newest copy of each of the 12 ISO weeks up to this one (Sundays), beyond the 30 days.
    expected |= dict.fromkeys(
        ["2026-05-31", "2026-05-24", "2026-05-17", "2026-05-10", "2026-05-03", "2026-04-26",
         "2026-04-19"],
        "weekly",
    )  # fmt: skip
    # The newest copy of each of the 12 months up to this one, beyond the above.
    expected |= dict.fromkeys(
        ["2026-04-30", "2026-03-31", "2026-02-28", "2026-01-31", "2025-12-31", "2025-11-30",
         "2025-10-31", "2025-09-30", "2025-08-31", "2025-07-31"],
        "monthly",
    )  # fmt: skip
    expected |= {"2024-12-31": "archive", "2025-03-15": "archive"}
    expected |= {"2024-08-10": "newest verified"}  # the only verified copy
    assert kept == expected
    assert len(copies) == 730 and len(kept) == 50


def test_days_are_calendar_days_in_berlin() -> None:
    late = Copy("late", datetime(2026, 6, 29, 22, 30, tzinfo=UTC))  # 00:30 on the 30th in Berlin
    later = Copy("later", datetime(2026, 6, 30, 1, 0, tzinfo=UTC))
    berlin = {d.copy.name: d.rule for d in decide([late, later], NOW)}
    assert berlin == {"later": "newest", "late": "expired"}
    utc = {d.copy.name: d.rule for d in decide([late, later], NOW, Policy(timezone="UTC"))}
    assert utc == {"later": "newest", "late": "daily"}


def test_no_copies_no_decisions() -> None:
    assert decide([], NOW) == []


@st.composite
def copy_sets(draw: st.DrawFn) -> tuple[list[Copy], datetime]:
    now = draw(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)))
    now = now.replace(tzinfo=UTC)
    ages = draw(st.lists(st.integers(0, 3 * 365 * 24 * 60), min_size=1, max_size=60))
    copies = [
        Copy(
            f"c{i}",
            now - timedelta(minutes=age),
            archive=draw(st.integers(0, 3)) == 0,
            verified=draw(st.booleans()),
        )
        for i, age in enumerate(ages)
    ]
    return copies, now


def _newest(copies: list[Copy]) -> Copy:
    return max(copies, key=lambda c: (c.taken_at, c.name))


@settings(max_examples=300, deadline=None)
@given(copy_sets())
def test_properties_of_every_decision(case: tuple[list[Copy], datetime]) -> None:
    copies, now = case
    decisions = decide(copies, now)
    by_name = {d.copy.name: d for d in decisions}
    assert sorted(by_name) == sorted(c.name for c in copies), "one decision per copy"
    assert all((d.rule in RULES) == d.keep and (d.keep or d.rule == "expired") for d in decisions)

    assert by_name[_newest(copies).name].keep, "the newest copy is never deleted"
    assert all(by_name[c.name].keep for c in copies if c.archive), "archive-tagged: forever"
    verified = [c for c in copies if c.verified]
    if verified:
        assert by_name[_newest(verified).name].keep, "never the newest (or only) verified copy"

    kept = [d.copy for d in decisions if d.keep]
    again = decide(kept, now)
    assert all(d.keep for d in again), "pruning twice changes nothing"
