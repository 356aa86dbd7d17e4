"""E-mail addresses: trimmed and validated with ``email-validator`` (syntax only, no DNS).

Plus-addressing ('anna+kgv@example.de') and international domains are valid. The domain is
normalised as the validator does (lower case, Unicode NFC); the local part is kept exactly as
written. Quoted local parts and addresses without a dotted domain are rejected, as the
target's ``kgv.email_address`` domain would. Invalid → NULL, raw kept in legacy. The validator
checks single values, so it runs once per distinct value, and never again on an address it
already wrote (``kgv_assets.transform.canonical``).
"""

from __future__ import annotations

import pandas as pd
from email_validator import EmailNotValidError, validate_email

from kgv_assets.transform.canonical import WrittenValues, convert_distinct
from kgv_assets.transform.conversion import Converted

# Addresses this process wrote: valid as they are (see kgv_assets.transform.canonical).
WRITTEN = WrittenValues()


def _normalised(value: str) -> str | None:
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    local = value.rsplit("@", 1)[0]
    return f"{local}@{info.domain}"


def parse_email(s: pd.Series) -> Converted:
    """Trimmed and validated (``+`` allowed); invalid → NULL + legacy."""
    text = s.str.strip()
    present = text.notna() & (text != "")
    values = convert_distinct(text.where(present), _normalised, WRITTEN)
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[present & values.isna()] = "email: not a valid e-mail address"
    return Converted(values, reasons)
