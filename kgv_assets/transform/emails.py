"""E-mail addresses: trimmed and validated with ``email-validator`` (syntax only, no DNS).

Plus-addressing ('anna+kgv@example.de') and international domains are valid. The domain is
normalised as the validator does (lower case, Unicode NFC); the local part is kept exactly as
written. Quoted local parts and addresses without a dotted domain are rejected, as the
target's ``kgv.email_address`` domain would. Invalid → NULL, raw kept in legacy. The validator
checks single values (≈ 20 µs a value, and almost every address is distinct), so the plain
shape almost all addresses have is decided vectorised first (``fast_email``): an ASCII
dot-atom local part of letters, digits, ``_ + -``, at most 64 characters; a domain of at least
two LDH labels (no ``--``, none over 63) ending in an alphabetic TLD that is not one of the
validator's own special-use names; the whole at most 254. Such an address is valid and its
domain is lower-cased, as the validator does; an ASCII value without ``@`` is invalid. Every
other value goes to the validator, once per distinct value, and never again on an address it
already wrote (``kgv_assets.transform.canonical``).
``kgv_assets_tests/transform/test_fast_paths.py`` checks fast path = validator on the demo
values and on generated addresses.
"""

from __future__ import annotations

import email_validator
import pandas as pd
import polars as pl
from email_validator import EmailNotValidError, validate_email

from kgv_assets.transform.canonical import WrittenValues, convert_distinct
from kgv_assets.transform.conversion import Converted, or_none, stripped

# Addresses this process wrote: valid as they are (see kgv_assets.transform.canonical).
WRITTEN = WrittenValues()


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LOCAL = r"[A-Za-z0-9_+\-äöüÄÖÜß]"  # the German letters precomposed (NFC), as written
_PLAIN = rf"^{_LOCAL}{{1,64}}(?:\.{_LOCAL}+)*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$"
# The validator rejects these names and everything under them (all single labels today).
_SPECIAL_USE = [name.lower() for name in email_validator.SPECIAL_USE_DOMAIN_NAMES]
assert all("." not in name for name in _SPECIAL_USE), "fast_email checks the TLD only"


def fast_email(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The normalised address (or None: invalid) for the plain shapes, and which those are."""
    value, local, domain = pl.col("text"), pl.col("local"), pl.col("domain")
    plain = (
        value.str.contains(_PLAIN)
        & ~domain.str.contains("--")
        & (local.str.len_bytes() <= 64)  # bytes ≥ characters: within either reading
        & (value.str.len_bytes() <= 254)
        & ~pl.col("lower").str.extract(r"([a-z]+)$", 1).is_in(_SPECIAL_USE)
    )
    ascii_without_at = value.str.contains(r"^[\x00-\x7f]*$") & ~value.str.contains("@")
    out = pl.DataFrame({"text": or_none(text, text.notna()).tolist()}, schema={"text": pl.String})
    # Each part extracted once (an eager select would extract it again for every use).
    out = out.with_columns(
        local=value.str.extract(r"^(.*)@", 1), domain=value.str.extract(r"@([^@]*)$", 1)
    ).with_columns(lower=domain.str.to_lowercase())
    out = out.with_columns(plain=plain).select(
        decided=(pl.col("plain") | ascii_without_at).fill_null(False),
        value=pl.when(pl.col("plain")).then(local + "@" + pl.col("lower")),
    )
    decided = pd.Series(out["decided"].to_numpy(), index=text.index)
    values = pd.Series(out["value"].to_numpy(), index=text.index, dtype=object)
    return or_none(values, decided & values.notna()), decided


def _normalised(value: str) -> str | None:
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    local = value.rsplit("@", 1)[0]
    return f"{local}@{info.domain}"


def parse_email(s: pd.Series) -> Converted:
    """Trimmed and validated (``+`` allowed); invalid → NULL + legacy."""
    text = stripped(s)
    present = text.notna() & (text != "")
    values = convert_distinct(text.where(present), _normalised, WRITTEN, fast=fast_email)
    reasons = pd.Series(None, index=s.index, dtype=object)
    reasons[present & values.isna()] = "email: not a valid e-mail address"
    return Converted(values, reasons)
