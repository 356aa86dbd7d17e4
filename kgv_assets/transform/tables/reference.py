"""Lookups of already loaded target rows, shared by the tables that reference them."""

from __future__ import annotations

import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.layout import target_table


def existing_ids(column: str, table: str) -> sql.Composed:
    """A lookup expression: ``s.<column>`` names an existing row of ``kgv.<table>``."""
    return sql.SQL("EXISTS (SELECT FROM {t} p WHERE p.id = s.{c})").format(
        t=target_table(table).ident, c=sql.Identifier(column)
    )


def read_frame(conn: psycopg.Connection, query: sql.Composed | sql.SQL) -> pd.DataFrame:
    """A lookup table read whole: a reference table, or the file references (180,000 at 1M)."""
    with conn.cursor() as cur:
        cur.execute(query)
        names = [d.name for d in cur.description or []]
        return pd.DataFrame.from_records(cur.fetchall(), columns=names, coerce_float=False)
