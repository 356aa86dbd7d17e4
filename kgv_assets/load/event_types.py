"""Seed ``kgv.event_types`` from the verl_Art codes found in staging: unknown codes are added."""

from __future__ import annotations

import pandas as pd
import psycopg

from kgv_assets.load.target import is_empty
from kgv_assets.transform.text import clean_text


def add_found_codes(conn: psycopg.Connection) -> tuple[int, int]:
    """Add every trimmed verl_Art code of staging.Verlauf missing from kgv.event_types.

    Returns:
        (codes found in the data, codes added now). Added codes get ``is_known = false`` and
        no label, so a person can label them later; none is ever rejected. Like the target
        tables' bulk load, additions during the initial load (no history loaded yet) are not
        audited; later additions are.
    """
    raw = pd.Series(
        [r[0] for r in conn.execute('SELECT DISTINCT "verl_Art" FROM staging."Verlauf"')],
        dtype=object,
    )
    codes = sorted(set(clean_text(raw).values.dropna()))
    with conn.transaction():
        if is_empty(conn, "application_history"):
            conn.execute("SET LOCAL kgv.audit = 'off'")
        before = conn.execute("SELECT count(*) FROM kgv.event_types").fetchone()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO kgv.event_types (code, is_known) VALUES (%s, false)"
                " ON CONFLICT (code) DO NOTHING",
                [(c,) for c in codes],
            )
        after = conn.execute("SELECT count(*) FROM kgv.event_types").fetchone()
    return len(codes), (after[0] if after else 0) - (before[0] if before else 0)
