"""The quarantine (``migration.rejected_rows``): legacy rows that cannot load, with every reason.

A rerun of a partition replaces the partition's entries of the stage that runs. Raw rows are
stored as jsonb (column → value as text). PostgreSQL cannot store a NUL character or invalid
UTF-8 in jsonb, so such a value is stored as ``{"base64": …}`` of its UTF-8 bytes (invalid
bytes restored via surrogateescape) — altered in form only, never in content, and the row's
reasons say why.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from kgv_assets.legacy.catalogue import Table
from kgv_assets.transform.conversion import or_none

Stage = Literal["legacy", "transform", "target"]


def _storable(value: object) -> object:
    if isinstance(value, str) and (
        "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)
    ):
        return {"base64": base64.b64encode(value.encode("utf-8", "surrogateescape")).decode()}
    return value


def raw_row(values: dict[str, object]) -> dict[str, object]:
    """A legacy row as a jsonb-storable dict (see the module docstring)."""
    return {k: _storable(v) for k, v in values.items()}


def decode_raw_value(value: object) -> object:
    """The original legacy value of a stored raw-row entry (inverse of ``raw_row``)."""
    if isinstance(value, dict) and set(value) == {"base64"}:
        return base64.b64decode(value["base64"]).decode("utf-8", "surrogateescape")
    return value


def clear(
    conn: psycopg.Connection,
    table: Table,
    stages: Sequence[Stage],
    partition_keys: Sequence[str] | None,
) -> int:
    """Delete the entries of ``table`` for ``stages`` (and partitions; None = all)."""
    query = "DELETE FROM migration.rejected_rows WHERE source_table = %s AND stage = ANY(%s)"
    params: list[object] = [table.name, list(stages)]
    if partition_keys is not None:
        query += " AND partition = ANY(%s)"
        params.append(list(partition_keys))
    return conn.execute(query, params).rowcount


def write_rejected(
    conn: psycopg.Connection,
    table: Table,
    rows: pd.DataFrame,
    reasons: pd.Series,
    hashes: pd.Series,
    *,
    partitions: pd.Series,
    stage: Stage,
    run_id: str,
) -> int:
    """Append ``rows`` (legacy columns as text) with their reasons to the quarantine.

    ``reasons``, ``hashes`` and ``partitions`` are aligned with ``rows`` by index; each entry
    of ``reasons`` is a non-empty list of strings that name rules, never values.
    """
    if rows.empty:
        return 0
    key = table.key_column
    records = or_none(rows[table.column_names].astype(object), rows.notna())
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY migration.rejected_rows (source_table, source_key, partition, stage, reasons,"
            " raw_row, row_hash, run_id) FROM STDIN"
        ) as copy,
    ):
        copy.set_types(["text", "text", "text", "text", "text[]", "jsonb", "int8", "text"])
        for label, values in zip(records.index, records.to_dict("records"), strict=True):
            source_key = values.get(key) if key else None
            if _storable(source_key) is not source_key:
                source_key = None  # an ID PostgreSQL cannot hold; the raw row keeps it
            copy.write_row(
                (
                    table.name,
                    source_key,
                    partitions.loc[label],
                    stage,
                    list(reasons.loc[label]),
                    Jsonb(raw_row({str(k): v for k, v in values.items()}), dumps=_dumps),
                    int(hashes.loc[label]),
                    run_id,
                )
            )
    return len(rows)


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


@dataclass
class Pending:
    """Rejected rows kept back while a COPY into the table being loaded holds the connection.

    A connection runs one COPY at a time, so a loader that streams its rows in one long COPY
    (``CopyStream``) collects the quarantine here and writes it when the stream is closed,
    or earlier (``full``) so that memory stays bounded. Rows, reasons, hashes and partitions
    are kept for the rejected labels only.
    """

    table: Table
    run_id: str
    limit: int = 20_000
    rows: int = 0
    _parts: list[tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series, Stage]] = field(
        default_factory=list
    )

    def add(
        self,
        rows: pd.DataFrame,
        reasons: pd.Series,
        hashes: pd.Series,
        *,
        partitions: pd.Series,
        stage: Stage,
    ) -> None:
        """Keep ``rows`` (aligned as for ``write_rejected``) until ``write``."""
        if rows.empty:
            return
        labels = rows.index
        self._parts.append(
            (rows, reasons.loc[labels], hashes.loc[labels], partitions.loc[labels], stage)
        )
        self.rows += len(rows)

    @property
    def full(self) -> bool:
        """Whether enough rows wait to be written now."""
        return self.rows >= self.limit

    def write(self, conn: psycopg.Connection) -> int:
        """Write everything kept (``write_rejected``); return the number of rows."""
        written = 0
        for rows, reasons, hashes, partitions, stage in self._parts:
            written += write_rejected(
                conn,
                self.table,
                rows,
                reasons,
                hashes,
                partitions=partitions,
                stage=stage,
                run_id=self.run_id,
            )
        self._parts.clear()
        self.rows = 0
        return written
