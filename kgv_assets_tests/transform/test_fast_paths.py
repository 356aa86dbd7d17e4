"""The vectorised fast paths decide exactly as libphonenumber and email-validator decide.

``fast_e164`` and ``fast_email`` replace the libraries for the shapes almost every value has
(issue 12: the libraries cost ≈ 60 µs and ≈ 20 µs a value, and the values are nearly all
distinct). Every value a fast path decides must get the library's answer: on every distinct
phone and e-mail value of the demo source (its dirt included), on generated numbers and
addresses around the shapes' edges, and on arbitrary text.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kgv_assets.transform import emails, phones
from kgv_assets_tests.transform.strategies import legacy_text, series

PHONE_COLUMNS = ["an_Telefon", "an_MobilTelefon", "an_MobilTelefon2", "an_GeschTelefon"]


def _disagreements(fast, slow, values: pd.Series) -> tuple[list[str], int]:
    decided_values, decided = fast(values)
    library = values.map(slow)
    differ = decided & (decided_values.fillna("\0") != library.fillna("\0"))
    return values[differ].tolist(), int(decided.sum())


def _distinct(source: Path, query: str) -> pd.Series:
    with sqlite3.connect(source) as con:
        values = {v for (v,) in con.execute(query) if isinstance(v, str)}
    text = pd.Series(sorted(values), dtype=object).str.strip()
    return text[text != ""].drop_duplicates().reset_index(drop=True)


def test_phone_fast_path_agrees_with_libphonenumber_on_every_demo_value(demo_source) -> None:
    union = " UNION ".join(f'SELECT "{c}" FROM Antrag' for c in PHONE_COLUMNS)
    values = _distinct(demo_source, union)
    wrong, decided = _disagreements(phones.fast_e164, phones._e164, values)
    assert wrong == []
    assert decided >= 0.9 * len(values)  # the fast path is the common path


def test_email_fast_path_agrees_with_email_validator_on_every_demo_value(demo_source) -> None:
    values = _distinct(
        demo_source, "SELECT an_EMail FROM Antrag UNION SELECT Pers_Email FROM Personen"
    )
    wrong, decided = _disagreements(emails.fast_email, emails._normalised, values)
    assert wrong == []
    assert decided >= 0.9 * len(values)


_sep = st.sampled_from(["", " ", "/", "-", ".", "  ", " / ", "--", "(", ")"])
_prefix = st.sampled_from(["0", "00", "+49", "0049", "+49 ", "+49 (0)", "+490", "0041", "+41 ", ""])
_groups = st.lists(st.from_regex(r"[0-9]{1,6}", fullmatch=True), min_size=1, max_size=4)


@st.composite
def phone_like(draw) -> str:
    groups = draw(_groups)
    text = draw(_prefix) + "".join(g + draw(_sep) for g in groups[:-1]) + groups[-1]
    return (
        draw(st.sampled_from(["", "tel. ", "privat: "]))
        + text
        + draw(st.sampled_from(["", " (abends)", " ", "x12", " oder 0171 2"]))
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(phone_like(), legacy_text.filter(bool)), min_size=1, max_size=40))
def test_phone_fast_path_agrees_with_libphonenumber_on_generated_numbers(values) -> None:
    wrong, _ = _disagreements(phones.fast_e164, phones._e164, series(values).str.strip())
    assert wrong == []


_atom = st.from_regex(r"[A-Za-z0-9_+\-äöüßé. \"()]{1,12}", fullmatch=True)
_domain = st.from_regex(r"([A-Za-z0-9\-]{0,8}\.){1,3}[A-Za-z0-9]{0,5}", fullmatch=True)
_special = st.sampled_from(["localhost", "x.test", "a.local", "b.onion", "c.invalid", "example.de"])


@st.composite
def address_like(draw) -> str:
    local = ".".join(draw(st.lists(_atom, min_size=1, max_size=3)))
    domain = draw(st.one_of(_domain, _special))
    at = draw(st.sampled_from(["@", "", "@@"]))
    return draw(st.sampled_from(["", " "])) + local + at + domain


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(address_like(), legacy_text.filter(bool)), min_size=1, max_size=40))
def test_email_fast_path_agrees_with_email_validator_on_generated_addresses(values) -> None:
    wrong, _ = _disagreements(emails.fast_email, emails._normalised, series(values).str.strip())
    assert wrong == []


def test_long_local_parts_and_addresses_go_to_the_validator() -> None:
    values = series(["a" * 64 + "@example.de", "a" * 65 + "@example.de", "ä" * 40 + "@x.de"])
    wrong, _ = _disagreements(emails.fast_email, emails._normalised, values)
    assert wrong == []
    assert emails.fast_email(values)[0].tolist() == ["a" * 64 + "@example.de", None, None]
