"""Phone numbers → E.164 ('+49221123456'), parsed with Google's libphonenumber (region DE).

A value is parsed as a German number unless it carries its own country code ('+41 …',
'0041 …'). Text around a number is tolerated only when exactly one number-like run is in it
('0221 123456 (nur abends)', 'privat: 030/1234567'); two numbers ('0221 1 oder 0171 2') or none
cannot be told apart and are rejected. A number libphonenumber does not consider valid →
NULL, raw kept in legacy.

libphonenumber parses one value at a time in Python (≈ 60 µs a value), and almost every phone
value is distinct, so a cache does not help. The common German shapes ('0221 123456',
'0171-1234567', '+49 30 1234567', '0049 89/123456': a national '0' or '+49'/'0049', then digit
groups split by single blanks, dots, slashes or hyphens) are decided vectorised instead, exactly
as libphonenumber decides them: the national significant number is valid iff it matches the
library's own DE metadata (``_valid_national``: the general description, then any number
type's pattern and possible lengths, the order of ``phonenumberutil._number_type_helper``).
Only a value the fast path accepts is decided there; every other value (other countries,
brackets, extensions, invalid-looking numbers) goes to the library as before, once per distinct
value, and numbers this process already wrote are not parsed again
(``kgv_assets.transform.canonical``). ``kgv_assets_tests/transform/test_phone_fast_path.py``
checks fast path = library on every distinct demo value and on generated numbers.
"""

from __future__ import annotations

import re

import pandas as pd
import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata

from kgv_assets.transform.canonical import WrittenValues, convert_distinct
from kgv_assets.transform.conversion import Converted, or_none, stripped

REGION = "DE"
_CANDIDATE = re.compile(r"(?:\+|\b00)?[0-9][0-9 /().\-]{3,}[0-9]")
# E.164 numbers this process wrote: valid as they are (see kgv_assets.transform.canonical).
WRITTEN = WrittenValues()

_FOUND = PhoneMetadata.metadata_for_region(REGION)
if _FOUND is None or not _FOUND.national_prefix:  # pragma: no cover  (the library ships DE)
    raise ImportError(f"libphonenumber has no metadata with a national prefix for {REGION}")
_METADATA = _FOUND
_NATIONAL_PREFIX: str = _FOUND.national_prefix
_COUNTRY_CODE = str(_METADATA.country_code)
# A national number: the national prefix ('0', libphonenumber's national_prefix_for_parsing for
# DE) or the country code after '+' / the IDD '00'; then digits, the first not a 0 (so neither an
# IDD nor a second prefix), in groups split by at most one separator.
_INTERNATIONAL = rf"(?:\+|{_METADATA.international_prefix}){_COUNTRY_CODE}[ ./\-]?"
_FAST_SHAPE = re.compile(
    rf"(?:{_INTERNATIONAL}|{_NATIONAL_PREFIX})(?P<national>[1-9](?:[ ./\-]?[0-9])*)"
)
# The number types in the order libphonenumber tries them (phonenumberutil._number_type_helper).
_TYPE_DESCS = [
    getattr(_METADATA, name)
    for name in (
        "premium_rate",
        "toll_free",
        "shared_cost",
        "voip",
        "personal_number",
        "pager",
        "uan",
        "voicemail",
        "fixed_line",
        "mobile",
    )
]


def _matches(national: pl.Expr, desc: object) -> pl.Expr:
    """phonenumberutil._is_number_matching_desc as a polars expression on national numbers.

    The patterns are the library's own; they use no syntax where Rust's regex and Python's
    ``re`` differ (no look-around, no back-references; the input is ASCII digits).
    """
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return pl.lit(False)
    ok = national.str.contains(f"^(?:{pattern})$")
    lengths = getattr(desc, "possible_length", ())
    return ok & national.str.len_chars().is_in(list(lengths)) if lengths else ok


def _valid_national(national: pl.Expr) -> pl.Expr:
    """``phonenumbers.is_valid_number`` for DE national significant numbers (digits only)."""
    return pl.any_horizontal([_matches(national, d) for d in _TYPE_DESCS]) & _matches(
        national, _METADATA.general_desc
    )


def fast_e164(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """E.164 (or None: invalid) for the values of the common German shapes, and which those are.

    Returns the values and a boolean mask of the values decided here; the caller asks the
    library about the others. For a national '0…' whose digits with the '0' would already fit
    the general description, libphonenumber might keep the '0' (it strips the prefix only if
    the rest still fits): such values are left to the library.
    """
    # The one number-like run in the value, as _e164 finds it; only in ASCII text, where Rust's
    # \b and Python's agree (the word characters are [A-Za-z0-9_] in both).
    prefix = _NATIONAL_PREFIX
    text_col, c, digits = pl.col("text"), pl.col("candidate"), pl.col("digits")
    runs = text_col.str.extract_all(_CANDIDATE.pattern)
    frame = (
        pl.DataFrame({"text": or_none(text, text.notna()).tolist()}, schema={"text": pl.String})
        .with_columns(
            candidate=pl.when(
                text_col.str.contains(r"^[\x00-\x7f]*$") & (runs.list.len() == 1)
            ).then(runs.list.first())
        )
        .with_columns(
            digits=c.str.extract(f"^{_FAST_SHAPE.pattern}$", 1).str.replace_all(r"[ ./\-]", "")
        )
    )
    out = frame.select(
        decided=digits.is_not_null()
        & ~(c.str.starts_with(prefix) & _matches(pl.lit(prefix) + digits, _METADATA.general_desc)),
        value=pl.when(_valid_national(digits)).then(pl.lit("+" + _COUNTRY_CODE) + digits),
    )
    decided = pd.Series(out["decided"].fill_null(False).to_numpy(), index=text.index)
    values = pd.Series(out["value"].to_numpy(), index=text.index, dtype=object)
    return or_none(values, decided & values.notna()), decided


def _e164(value: str) -> str | None:
    candidates = _CANDIDATE.findall(value)
    if len(candidates) != 1:
        return None
    try:
        number = phonenumbers.parse(candidates[0], REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_phone(s: pd.Series) -> Converted:
    """Phone number → E.164 with libphonenumber (region DE); unparseable → NULL + legacy."""
    text = stripped(s)
    present = text.notna() & (text != "")
    values = convert_distinct(text.where(present), _e164, WRITTEN, fast=fast_e164)
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[present & values.isna()] = "phone: not a valid phone number"
    return Converted(values, reasons)
