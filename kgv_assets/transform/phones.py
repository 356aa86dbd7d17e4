"""Phone numbers → E.164 ('+49221123456'), parsed with Google's libphonenumber (region DE).

A value is parsed as a German number unless it carries its own country code ('+41 …',
'0041 …'). Text around a number is tolerated only when exactly one number-like run is in it
('0221 123456 (nur abends)', 'privat: 030/1234567'); two numbers ('0221 1 oder 0171 2') or none
cannot be told apart and are rejected. A number libphonenumber does not consider valid →
NULL, raw kept in legacy. The library parses single values, so it runs once per distinct
value and the results are mapped back (vectorised over the column); numbers it already wrote
are not parsed again (``kgv_assets.transform.canonical``).
"""

from __future__ import annotations

import re

import pandas as pd
import phonenumbers

from kgv_assets.transform.canonical import WrittenValues, convert_distinct
from kgv_assets.transform.conversion import Converted

REGION = "DE"
_CANDIDATE = re.compile(r"(?:\+|\b00)?[0-9][0-9 /().\-]{3,}[0-9]")
# E.164 numbers this process wrote: valid as they are (see kgv_assets.transform.canonical).
WRITTEN = WrittenValues()


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
    text = s.str.strip()
    present = text.notna() & (text != "")
    values = convert_distinct(text.where(present), _e164, WRITTEN)
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[present & values.isna()] = "phone: not a valid phone number"
    return Converted(values, reasons)
