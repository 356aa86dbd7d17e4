"""The polars rules give exactly what the pandas rules gave (issue 12), on every input.

Each rule that runs in polars keeps its pandas implementation: it decides what polars leaves
(odd spellings, surrogate-escaped text) and is the oracle here. Values (dtype, NULLs, names),
reasons and, over whole chunks, the ``legacy`` dicts must be identical: on every value of the
affected columns of the demo source, on generated text around each rule's edges (Python's
white space, which Rust's lacks in part; dates at daylight-saving changes, 1893, 1901, the
sentinels and the ends of pandas' calendar), and at every hour polars localises.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bench.source import staged_text as staged
from kgv_assets.transform import (
    birthdays,
    dates,
    file_references,
    numbers,
    postal_codes,
    sizes,
    text,
)
from kgv_assets.transform.conversion import WHITESPACE, Converted, to_polars
from kgv_assets.transform.oracles import ORACLES, with_oracles
from kgv_assets.transform.tables import application_history, applications, checks, entry_numbers
from kgv_assets.transform.tables import file_references as file_reference_table
from kgv_assets.transform.tables.mapping import apply_rules, legacy_values
from kgv_assets_tests.transform.strategies import legacy_text, series

TODAY = dt.date(2026, 11, 24)
Rule = Callable[[pd.Series], Converted]


def _birthday(s: pd.Series) -> Converted:
    return birthdays.parse_birthday(s, TODAY)


def _birthday_pandas(s: pd.Series) -> Converted:
    return birthdays._parse_birthday_pandas(s, TODAY)


RULES: list[tuple[Rule, Rule]] = [
    (text.clean_text, text._clean_text_pandas),
    (_birthday, _birthday_pandas),
    (dates.parse_legacy_datetime, dates._parse_legacy_datetime_pandas),
    (postal_codes.parse_postal_code, postal_codes._parse_postal_code_pandas),
    (sizes.parse_size_m2, sizes._parse_size_m2_pandas),
    (numbers.parse_year, numbers._parse_year_pandas),
    (numbers.parse_positive_int, numbers._parse_positive_int_pandas),
]


def assert_same(new: Converted, old: Converted) -> None:
    pd.testing.assert_series_equal(new.values, old.values, check_exact=True)
    pd.testing.assert_series_equal(new.reasons, old.reasons, check_exact=True)


def assert_same_references(s: pd.Series, today: dt.date) -> None:
    new = file_references.parse_file_reference(s, today)
    old = file_references._parse_file_reference_pandas(s, today)
    for part in ("district_code", "number", "year"):
        pd.testing.assert_series_equal(getattr(new, part), getattr(old, part), check_exact=True)


def test_whitespace_is_pythons() -> None:
    every = [chr(i) for i in range(sys.maxunicode + 1)]
    assert [c for c in every if c.isspace()] == list(WHITESPACE)
    assert [c for c in every if re.fullmatch(r"\s", c)] == list(WHITESPACE)


@pytest.mark.parametrize(
    "mapping",
    [
        applications.MAPPING,
        application_history.MAPPING,
        file_reference_table.MAPPING,
        entry_numbers.MAPPING,
    ],
    ids=lambda m: m.source,
)
def test_every_demo_value_and_chunk_converts_as_before(demo_source, mapping) -> None:
    table = mapping.source
    rows = staged(demo_source, table)
    for rule in mapping.rules:
        if rule.source is not None and rule.convert in ORACLES:
            column = rows[rule.source]
            assert to_polars(column) is not None, rule.source  # the polars path ran
            assert_same(rule.convert(column), ORACLES[rule.convert](column))
    new_rows, new_legacy = apply_rules(mapping, rows)
    old_rows, old_legacy = apply_rules(with_oracles(mapping), rows)
    pd.testing.assert_frame_equal(new_rows, old_rows, check_exact=True)
    pd.testing.assert_series_equal(new_legacy, old_legacy, check_exact=True)
    if table == "Antrag":
        assert_same_references(rows["an_Aktenzeichen"], TODAY)


def test_surrogate_escaped_text_takes_the_pandas_path() -> None:
    s = series([" 05.06.1970 ", "abc\udcff ", None, "2021-03-28 02:30:00", "1067", "250 m²"])
    assert to_polars(s) is None
    for new, old in RULES:
        assert_same(new(s), old(s))
    assert_same_references(s, TODAY)


def test_every_hour_polars_localises_is_pandas_instant() -> None:
    hours = pd.date_range("1901-12-01", "2037-02-01", freq="h")
    values = pd.Series(hours.strftime("%Y-%m-%d %H:%M:%S.000"), dtype=object)
    assert_same(dates.parse_legacy_datetime(values), dates._parse_legacy_datetime_pandas(values))


_space = st.text(st.sampled_from([*WHITESPACE, "\u200b", "\ufeff", "\x00", "x"]), max_size=2)


def _padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, c, b: a + c + b, _space, core, _space)


_day = st.dates(dt.date(1600, 1, 1), dt.date(2300, 12, 31))
_birthday_text = st.one_of(
    st.builds(
        lambda d, f: d.strftime(f),
        _day,
        st.sampled_from(["%d.%m.%Y", "%-d.%-m.%Y", "%d.%m.%y", "%-d.%-m.%y", "%Y-%m-%d", "%d%m%Y"]),
    ),
    st.from_regex(r"[0-9]{1,4}[./\-]?[0-9]{0,4}[./\-]?[0-9]{0,4}", fullmatch=True),
    st.sampled_from(["29.02.1900", "29.02.2000", "24.11.2026", "25.11.2026", "31.12.1899"]),
    st.sampled_from(["01.01.1900", "21.09.1677", "22.09.1677", "11.04.2262", "12.04.2262"]),
)


def _dst_day(year: int, month: int) -> dt.date:
    """The last Sunday of ``month``: where Europe/Berlin changes its clocks since 1980."""
    last = dt.date(year, month, 31)
    return last - dt.timedelta(days=(last.weekday() + 1) % 7)


_near_change = st.builds(
    lambda y, m, minutes: (
        dt.datetime.combine(_dst_day(y, m), dt.time(0)) + dt.timedelta(minutes=minutes)
    ),
    st.integers(1902, 2045),
    st.sampled_from([3, 10]),
    st.integers(0, 300),
)
_moment = st.one_of(
    st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)),
    st.datetimes(dt.datetime(1890, 1, 1), dt.datetime(1905, 1, 1)),
    st.datetimes(dt.datetime(1893, 3, 31, 23), dt.datetime(1893, 4, 1, 1)),
    st.datetimes(dt.datetime(1901, 12, 13), dt.datetime(1901, 12, 15)),
    st.datetimes(dt.datetime(1914, 1, 1), dt.datetime(1950, 1, 1)),
    st.datetimes(dt.datetime(2036, 6, 1), dt.datetime(2038, 6, 1)),
    _near_change,
)
_datetime_text = st.one_of(
    st.builds(
        lambda m, f, digits: (
            m.strftime(f) + (f".{m.microsecond:06d}"[: digits + 1] if digits else "")
        ),
        _moment,
        st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
        st.integers(0, 6),
    ),
    st.builds(
        lambda day, rest: day + rest,
        st.sampled_from([*dates.SENTINELS, dates.OPEN_END, "1677-09-21", "2262-04-12"]),
        st.sampled_from(["", " 00:00:00.000", " 23:59:59.997", "x", " 12:00", "T10:00:00"]),
    ),
    st.from_regex(
        r"[0-9+\-e. ]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,12})?)?",
        fullmatch=True,
    ),
)
_size_text = st.from_regex(
    r"[0-9]{0,5}([.,][0-9]{0,4}){0,2}[ \t\x1c\xa0]?(m²|m2|qm|M²|QM|Qm|mM|M)?", fullmatch=True
)
_number_text = st.one_of(
    st.from_regex(r"[+\-]?[0-9]{1,19}", fullmatch=True),
    st.integers(1800, 2200).map(str),
    st.sampled_from(["0", "-0", "+0", "12.5", "1e3", "٣", "0x10", "1_000", "2100", "1900"]),
)
_postal_text = st.from_regex(r"([DdX][ \x1c\u3000]*-?[ \x1f]*)?[0-9]{3,6}", fullmatch=True)
_reference_text = st.from_regex(
    r"(A[Zz]\.?[ \x1c]*)?[0-9A-Za-zÄöß]{0,11}[ \x1d]*[/\-][ ]*[0-9]{0,7}[ \x1e]*[/\-] ?[0-9]{1,5}",
    fullmatch=True,
)


def _values(core: st.SearchStrategy[str]) -> st.SearchStrategy[list[str | None]]:
    return st.lists(st.one_of(_padded(core), legacy_text), max_size=30)


@settings(max_examples=300, deadline=None)
@given(_values(st.one_of(_birthday_text, _datetime_text, _size_text, _postal_text, _number_text)))
def test_generated_text_converts_as_before(values) -> None:
    s = series(values)
    for new, old in RULES:
        assert_same(new(s), old(s))


@settings(max_examples=300, deadline=None)
@given(_values(_birthday_text), st.dates(dt.date(1850, 1, 1), dt.date(2100, 1, 1)))
def test_generated_birthdays_convert_as_before(values, today) -> None:
    s = series(values)
    assert_same(birthdays.parse_birthday(s, today), birthdays._parse_birthday_pandas(s, today))


@settings(max_examples=300, deadline=None)
@given(_values(_datetime_text))
def test_generated_datetimes_convert_as_before(values) -> None:
    s = series(values)
    assert_same(dates.parse_legacy_datetime(s), dates._parse_legacy_datetime_pandas(s))


@settings(max_examples=200, deadline=None)
@given(_values(_size_text))
def test_generated_sizes_convert_as_before(values) -> None:
    s = series(values)
    assert_same(sizes.parse_size_m2(s), sizes._parse_size_m2_pandas(s))


@settings(max_examples=200, deadline=None)
@given(_values(_number_text))
def test_generated_numbers_convert_as_before(values) -> None:
    s = series(values)
    assert_same(numbers.parse_year(s), numbers._parse_year_pandas(s))
    assert_same(numbers.parse_positive_int(s), numbers._parse_positive_int_pandas(s))


@settings(max_examples=200, deadline=None)
@given(_values(_postal_text))
def test_generated_postal_codes_convert_as_before(values) -> None:
    s = series(values)
    assert_same(postal_codes.parse_postal_code(s), postal_codes._parse_postal_code_pandas(s))


@settings(max_examples=200, deadline=None)
@given(_values(_reference_text), st.dates(dt.date(1950, 1, 1), dt.date(2100, 1, 1)))
def test_generated_file_references_split_as_before(values, today) -> None:
    assert_same_references(series(values), today)


_cell = st.one_of(st.none(), st.just(float("nan")), st.text(max_size=3))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_cell, _cell, _cell), max_size=20))
def test_legacy_values_are_each_rows_non_null_cells_in_column_order(rows) -> None:
    raw = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=object)
    raw = raw.set_axis([f"r{i}" for i in range(len(raw))])
    expected = [
        {k: v for k, v in zip(raw.columns, row, strict=True) if v is not None and v == v} or None
        for row in raw.itertuples(index=False)
    ]
    got = [d if isinstance(d, dict) else None for d in legacy_values(raw)]
    assert [list(d.items()) if d else None for d in got] == [
        list(d.items()) if d else None for d in expected
    ]


PATTERNS = [checks.UUID, checks.POSTAL_CODE, checks.PHONE_E164, checks.EMAIL]
_separator = st.sampled_from(["\n", "\x1c", "\x1f", "\x85", "\u3000", " ", *WHITESPACE])
_near_pattern = st.one_of(
    *(st.from_regex(p, fullmatch=True) for p in PATTERNS),
    st.from_regex(r"[0-9a-fA-F\-+@.]{0,40}\n?", fullmatch=True),
    # Around Python's white space that Rust's lacks (U+001C..U+001F) and the separators.
    st.lists(
        st.one_of(st.sampled_from(["a", "9", "+", "@", "."]), _separator), min_size=3, max_size=9
    ).map("".join),
)


@pytest.mark.parametrize("pattern", PATTERNS, ids=["uuid", "postal_code", "phone", "email"])
@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(_padded(_near_pattern), _near_pattern, legacy_text), max_size=30))
@example(values=["a\x1c@b.de", "a@b\x1f.de", "12345\n", "+4930123456\n", "a@b.de"])
def test_schema_patterns_match_in_polars_as_in_python(pattern, values) -> None:
    s = series([v for v in values if v is not None])
    expected = s.str.fullmatch(pattern)
    pd.testing.assert_series_equal(checks.fullmatch(pattern)(s), expected, check_exact=True)


def test_schema_patterns_take_pandas_for_what_polars_cannot_hold() -> None:
    s = series(["0" * 5, "1234\udcff", None, "+4930123456"])
    held = to_polars(s)
    assert held is None or held.null_count()
    for pattern in PATTERNS:
        pd.testing.assert_series_equal(checks.fullmatch(pattern)(s), s.str.fullmatch(pattern))
    with pytest.raises(ValueError, match="not anchored"):
        checks.fullmatch(r"[0-9]{5}")
