"""Every transformation rule: examples for each named case, and properties over free text."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kgv_assets.transform.birthdays import parse_birthday
from kgv_assets.transform.dates import SENTINELS, parse_legacy_datetime
from kgv_assets.transform.emails import parse_email
from kgv_assets.transform.file_references import parse_file_reference
from kgv_assets.transform.flags import apply_is_active_default, parse_flag
from kgv_assets.transform.hashing import row_hash
from kgv_assets.transform.numbers import parse_positive_int, parse_year
from kgv_assets.transform.phones import parse_phone
from kgv_assets.transform.postal_codes import parse_postal_code
from kgv_assets.transform.sizes import parse_size_m2
from kgv_assets.transform.text import clean_text
from kgv_assets_tests.transform.strategies import assert_contract, legacy_text, series

TODAY = dt.date(2026, 11, 24)
FUNCTIONS = [
    clean_text,
    parse_flag,
    parse_legacy_datetime,
    parse_postal_code,
    parse_phone,
    parse_email,
    parse_size_m2,
    parse_year,
    parse_positive_int,
    lambda s: parse_birthday(s, TODAY),
]


def _values(fn, values):
    result = fn(series(values))
    return [None if pd.isna(v) else v for v in result.values], list(result.reasons.notna())


@settings(max_examples=150, deadline=None)
@given(st.lists(legacy_text, max_size=15), st.sampled_from(FUNCTIONS))
def test_every_rule_keeps_the_contract_on_any_text(values, fn) -> None:
    s = series(values)
    assert_contract(s, fn(s))


@given(st.lists(legacy_text, max_size=15))
def test_clean_text_never_changes_letters(values) -> None:
    s = series(values)
    out = clean_text(s).values
    for before, after in zip(s, out, strict=True):
        if after is not None:
            assert after == before.strip() and after != ""
        else:
            assert before is None or before.strip() == ""


def test_clean_text_examples() -> None:
    assert _values(clean_text, ["  Müller ", "", "   ", None, "a\nb\t"])[0] == [
        "Müller",
        None,
        None,
        None,
        "a\nb",
    ]


def test_flags() -> None:
    values, failed = _values(parse_flag, ["J", "j", "Y", "y", "1", "N", "n", "0", " J ", "X", "?"])
    assert values == [True] * 5 + [False] * 3 + [True, None, None]
    assert failed == [False] * 9 + [True, True]
    assert apply_is_active_default(pd.Series([True, None, False], dtype="boolean")).tolist() == [
        True,
        True,
        False,
    ]


def test_datetimes_sentinels_range_and_daylight_saving() -> None:
    values = [
        "2019-06-01 12:00:00.123",
        "1900-01-01 00:00:00.000",
        "1753-01-01 00:00:00",
        "9999-12-31 23:59:59.997",
        "2300-01-01 00:00:00",
        "2021-03-28 02:30:00",
        "2021-10-31 02:30:00",
        "2021-01-15 10:00:00",
        "kein Datum",
    ]
    result = parse_legacy_datetime(series(values))
    utc = [None if pd.isna(v) else v.tz_convert("UTC").isoformat() for v in result.values]
    assert utc == [
        "2019-06-01T10:00:00.123000+00:00",
        None,
        None,
        None,
        None,
        "2021-03-28T01:00:00+00:00",  # the gap: shifted forward to 03:00 CEST
        "2021-10-31T00:30:00+00:00",  # the overlap: the first (summer-time) 02:30
        "2021-01-15T09:00:00+00:00",
        None,
    ]
    assert list(result.reasons) == [
        None,
        "datetime: sentinel",
        "datetime: sentinel",
        "datetime: sentinel (open end)",
        "datetime: out of range",
        None,
        None,
        None,
        "datetime: not a date",
    ]


def test_birthdays_formats_century_rule_and_rejections() -> None:
    cases = {
        "5.6.1970": "1970-06-05",
        "05.06.1970": "1970-06-05",
        "1970-06-05": "1970-06-05",
        "05061970": "1970-06-05",
        "12.5.80": "1980-05-12",
        "3.4.05": "2005-04-03",
        "29.02.1980": "1980-02-29",
    }
    result = parse_birthday(series(list(cases)), TODAY)
    assert [v.date().isoformat() for v in result.values] == list(cases.values())
    rejected = {
        "31.04.1975": "birthday: impossible date",
        "29.02.1981": "birthday: impossible date",
        "05/06/1970": "birthday: slash format (day/month order unknowable)",
        "ca. 1960": "birthday: not a recognised date format",
        "unbekannt": "birthday: not a recognised date format",
        "1.1.2099": "birthday: in the future",
        "1.1.1850": "birthday: before 1900",
    }
    result = parse_birthday(series(list(rejected)), TODAY)
    assert result.values.isna().all()
    assert list(result.reasons) == list(rejected.values())


@given(st.lists(legacy_text, max_size=15))
def test_birthdays_never_in_the_future(values) -> None:
    result = parse_birthday(series(values), TODAY)
    assert (result.values.dropna() <= pd.Timestamp(TODAY)).all()


def test_postal_codes() -> None:
    values, failed = _values(
        parse_postal_code, ["50667", "1067", "D-50667", "D 80331", "D50667", "123", "unbekannt"]
    )
    assert values == ["50667", "01067", "50667", "80331", "50667", None, None]
    assert failed == [False] * 5 + [True, True]


@given(st.lists(legacy_text, max_size=15))
def test_postal_codes_are_five_digits(values) -> None:
    assert parse_postal_code(series(values)).values.dropna().str.fullmatch(r"[0-9]{5}").all()


def test_phones() -> None:
    values, failed = _values(
        parse_phone,
        [
            "0221 123456",
            "0221 123456 (nur abends)",
            "privat: 030/1234567",
            "+41 44 668 18 00",
            "0171-1234567",
            "0221 1 oder 0171 2",
            "keins",
        ],
    )
    assert values == [
        "+49221123456",
        "+49221123456",
        "+49301234567",
        "+41446681800",
        "+491711234567",
        None,
        None,
    ]
    assert failed[-2:] == [True, True]


@settings(max_examples=60, deadline=None)
@given(st.lists(legacy_text, max_size=10))
def test_phones_are_e164(values) -> None:
    assert parse_phone(series(values)).values.dropna().str.fullmatch(r"\+[1-9][0-9]{6,14}").all()


def test_emails() -> None:
    values, failed = _values(
        parse_email,
        [
            "anna+kgv@Example.DE",
            " max@web.de ",
            "max@",
            "a b@example.de",
            "no-at.de",
            "x@localhost",
        ],
    )
    assert values == ["anna+kgv@example.de", "max@web.de", None, None, None, None]
    assert failed == [False, False, True, True, True, True]


def test_sizes() -> None:
    values, failed = _values(
        parse_size_m2,
        ["250 m²", "250m2", "250 qm", "250,5", "1.200", "1.200,5", "1200", "ca. 300", "0", "groß"],
    )
    assert values == [250, 250, 250, 250.5, 1200, 1200.5, 1200, None, None, None]
    assert failed == [False] * 7 + [True] * 3


def test_years_and_numbers() -> None:
    assert _values(parse_year, ["2019", "0", "1899", None]) == (
        [2019, None, None, None],
        [False, True, True, False],
    )
    assert _values(parse_positive_int, ["7", "0", "-3", "12.5", "1e3"]) == (
        [7, None, None, None, None],
        [False, True, True, True, True],
    )


def test_file_references() -> None:
    parsed = parse_file_reference(
        series(["32/0123/2019", "33-45-2018", "AZ 32/12/19", "Nord / 7 / 2020", "siehe Akte"]),
        TODAY,
    )
    assert parsed.district_code.tolist()[:4] == ["32", "33", "32", "Nord"]
    assert parsed.number.tolist()[:4] == [123, 45, 12, 7]
    assert parsed.year.tolist()[:4] == [2019, 2018, 2019, 2020]
    assert pd.isna(parsed.year.iloc[4]) and pd.isna(parsed.district_code.iloc[4])


@given(st.lists(st.tuples(legacy_text, legacy_text), min_size=1, max_size=10))
def test_row_hash_is_deterministic_and_tells_null_from_empty(rows) -> None:
    df = pd.DataFrame(rows, columns=["a", "b"], dtype=object)
    assert row_hash(df, ["a", "b"]).tolist() == row_hash(df.copy(), ["a", "b"]).tolist()
    null, empty = (pd.DataFrame({"a": [v], "b": ["x"]}, dtype=object) for v in (None, ""))
    assert row_hash(null, ["a", "b"]).iloc[0] != row_hash(empty, ["a", "b"]).iloc[0]


def test_row_hash_sees_values_moving_between_columns() -> None:
    df = pd.DataFrame({"a": ["ab", "a", "None"], "b": ["c", "bc", "x"]}, dtype=object)
    nulls = pd.DataFrame({"a": [None], "b": ["x"]}, dtype=object)
    hashes = row_hash(df, ["a", "b"]).tolist() + row_hash(nulls, ["a", "b"]).tolist()
    assert len(set(hashes)) == 4


def test_datetimes_between_1893_and_1901_are_cet_not_local_mean_time() -> None:
    # pandas alone gives +0:53:28 (LMT) here; CET (+1:00) was the law from 1893-04-01.
    values = ["1900-06-01 12:00:00", "1901-12-13 23:59:59", "1893-04-01 00:06:32", "1893-03-31"]
    instants = parse_legacy_datetime(series(values)).values.dt.tz_convert("UTC").tolist()
    berlin = ZoneInfo("Europe/Berlin")
    expected = [
        dt.datetime.fromisoformat(v).replace(tzinfo=berlin).astimezone(dt.UTC) for v in values
    ]
    assert [i.to_pydatetime() for i in instants] == expected
    assert expected[0].hour == 11 and expected[0].minute == 0
    assert expected[3] == dt.datetime(1893, 3, 30, 23, 6, 32, tzinfo=dt.UTC)  # mean time, as before
    # The jump from mean time to CET (00:00 → 00:06:32) is a gap: moved forward to its end.
    (jump,) = parse_legacy_datetime(series(["1893-04-01 00:03:00"])).values.tolist()
    assert jump.to_pydatetime() == dt.datetime(1893, 3, 31, 23, 6, 32, tzinfo=dt.UTC)


@settings(max_examples=200, deadline=None)
# Up to 2037: pytz's tables (behind pandas) end there; legacy dates past it are not plausible.
@given(st.datetimes(min_value=dt.datetime(1880, 1, 1), max_value=dt.datetime(2037, 12, 31)))
def test_datetimes_are_the_instants_zoneinfo_gives(naive: dt.datetime) -> None:
    if naive.date().isoformat() in SENTINELS:
        return  # "no date" (tested above)
    berlin = ZoneInfo("Europe/Berlin")
    aware = naive.replace(tzinfo=berlin, fold=0)
    if aware.astimezone(dt.UTC).astimezone(berlin).replace(tzinfo=None) != naive:
        return  # a spring-forward gap: moved forward (tested above), zoneinfo does not
    value = naive.isoformat(sep=" ", timespec="microseconds")
    (instant,) = parse_legacy_datetime(series([value])).values.tolist()
    assert instant.to_pydatetime() == aware
