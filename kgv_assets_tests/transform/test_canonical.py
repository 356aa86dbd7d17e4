"""Written values are fixed points of their converter, and the memory of them is exact."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgv_assets.transform import emails, phones
from kgv_assets.transform.canonical import WrittenValues
from kgv_assets.validation.rules import as_loaded
from kgv_assets_tests.transform.strategies import series

phone_like = st.from_regex(r"(\+49|0049|0)?[ ]?[1-9][0-9]{1,4}[ /\-]?[0-9]{3,8}", fullmatch=True)
email_like = st.from_regex(
    r"[a-zA-Z0-9._+\-]{1,12}@[a-zA-Z0-9\-]{1,10}\.[a-zA-Z]{2,4}", fullmatch=True
)


@pytest.fixture(autouse=True)
def _forget_written() -> None:
    phones.WRITTEN.clear()
    emails.WRITTEN.clear()


@settings(max_examples=200, deadline=None)
@given(st.lists(phone_like, min_size=1, max_size=10))
def test_written_phone_numbers_parse_to_themselves(values: list[str]) -> None:
    written = phones.parse_phone(series(values)).values.dropna()
    phones.WRITTEN.clear()
    again = phones.parse_phone(written)
    assert again.values.tolist() == written.tolist()
    assert not again.failed.any()


@settings(max_examples=200, deadline=None)
@given(st.lists(email_like, min_size=1, max_size=10))
def test_written_emails_parse_to_themselves(values: list[str]) -> None:
    written = emails.parse_email(series(values)).values.dropna()
    emails.WRITTEN.clear()
    again = emails.parse_email(written)
    assert again.values.tolist() == written.tolist()
    assert not again.failed.any()


def test_remembered_values_are_not_parsed_again_and_others_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert phones.parse_phone(series(["0221 123456"])).values.tolist() == ["+49221123456"]
    parsed: list[str] = []
    real = phones._e164
    monkeypatch.setattr(phones, "_e164", lambda v: parsed.append(v) or real(v))
    # '+49 (0)221 123456' is not a shape the fast path decides: the library parses it.
    out = phones.parse_phone(series(["+49221123456", "+49 (0)221 123456", "keine Nummer"]))
    assert parsed == ["+49 (0)221 123456", "keine Nummer"]
    assert out.values.tolist() == ["+49221123456", "+49221123456", None]


def test_the_format_check_still_fails_on_values_the_loader_did_not_write() -> None:
    loaded = phones.parse_phone(series(["0221 123456", "030/1234567"])).values
    check = as_loaded(phones.parse_phone)
    assert check(loaded).check_output.all()
    tampered = pd.Series(["+49221123456", "+49 30 1234567", "0221 99"], dtype=object)
    assert check(tampered).check_output.tolist() == [True, False, False]


@given(
    st.sets(st.text(max_size=12), max_size=300),
    st.sets(st.text(max_size=12), max_size=300),
    st.integers(min_value=1, max_value=5),
)
def test_the_memory_holds_exactly_what_was_added(
    added: set[str], others: set[str], batches: int
) -> None:
    memory = WrittenValues()
    items = sorted(added)
    for i in range(batches):
        memory.add(pd.Series(items[i::batches], dtype=object))
    memory._merge()
    memory.add(pd.Series(items[:3], dtype=object))  # some sorted, some pending
    probe = sorted(added | others)
    found = memory.contains(pd.Series(probe, dtype=object))
    ascii_without_nul = [v for v in items if v and all("\x00" < c <= "\x7f" for c in v)]
    assert [v for v, f in zip(probe, found, strict=True) if f] == ascii_without_nul


def test_texts_the_hash_cannot_tell_apart_are_never_remembered() -> None:
    memory = WrittenValues()
    memory.add(pd.Series(["a\x00b", "ä", "+49221123456"], dtype=object))
    probe = pd.Series(["a", "a\x00b", "ä", "\ud800", "+49221123456"], dtype=object)
    assert memory.contains(probe).tolist() == [False, False, False, False, True]


def test_past_its_limit_the_memory_starts_again() -> None:
    memory = WrittenValues(limit=5)
    memory.add(pd.Series(["a", "b", "c", "d"], dtype=object))
    memory.add(pd.Series(["e", "f"], dtype=object))
    assert len(memory) == 2
    assert memory.contains(pd.Series(["a", "e", "f"], dtype=object)).tolist() == [False, True, True]
