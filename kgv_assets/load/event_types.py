"""Seed ``kgv.event_types`` from the verl_Art codes found in staging: unknown codes are added."""

from __future__ import annotations

import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.layout import staged, target_table
from kgv_assets.load.writer import is_empty
from kgv_assets.transform.text import clean_text

EVENT_TYPES = target_table("event_types")


def add_found_codes(conn: psycopg.Connection) -> tuple[int, int]:
    """Add every trimmed verl_Art code of staging.Verlauf missing from kgv.event_types.

    Returns:
        (codes found in the data, codes added now). Added codes get ``is_known = false`` and
        no label, so a person can label them later; none is ever rejected. Like the target
        tables' bulk load, additions during the initial load (no history loaded yet) are not
        audited; later additions are.
    """
    found = conn.execute(
        sql.SQL("SELECT DISTINCT {} FROM {}").format(sql.Identifier("verl_Art"), staged("Verlauf"))
    )
    raw = pd.Series([r[0] for r in found], dtype=object)
    codes = sorted(set(clean_text(raw).values.dropna()))
    with conn.transaction():
        if is_empty(conn, "application_history"):
            conn.execute("SET LOCAL kgv.audit = 'off'")
        count = sql.SQL("SELECT count(*) FROM {}").format(EVENT_TYPES.ident)
        before = conn.execute(count).fetchone()
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL(
                    "INSERT INTO {} (code, is_known) VALUES (%s, false)"
                    " ON CONFLICT (code) DO NOTHING"
                ).format(EVENT_TYPES.ident),
                [(c,) for c in codes],
            )
        after = conn.execute(count).fetchone()
    return len(codes), (after[0] if after else 0) - (before[0] if before else 0)
