"""Reconciliation: per legacy table and partition, source rows = loaded rows + quarantined rows.

Proved twice over. The figures the load recorded in ``migration.reconciliation`` must equal a
recount from the tables themselves (rows in the staging or target table + rows in
``migration.rejected_rows``), and the recount must equal the source's own count per partition
(``LegacySourceResource.partition_counts``). A partition the source has but no load recorded
fails too: it was never migrated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.layout import PARTITION_COLUMN, STAGING, TARGET, TARGET_PARTITION
from kgv_assets.partitions import sort_partition_keys
from kgv_assets.validation.outcome import Outcome, percent, sample

COUNTS = ["source", "loaded", "quarantined"]
RECORDED = ["recorded_source", "recorded_loaded", "recorded_quarantined"]


@dataclass(frozen=True)
class Ledger:
    """Where one stage of one legacy table keeps its rows and its accounting."""

    source_table: str
    stage: Literal["staging", "target"]
    schema: str
    table: str
    partition_column: str
    quarantine_stages: tuple[str, ...]

    @property
    def qualified(self) -> str:
        """``schema.table`` for people."""
        return f"{self.schema}.{self.table}"


def staging_ledger(source_table: str) -> Ledger:
    """The staging stage: ``staging."<Table>"`` + rows the legacy schema quarantined."""
    return Ledger(source_table, "staging", STAGING, source_table, PARTITION_COLUMN, ("legacy",))


def target_ledger(source_table: str, target_table: str) -> Ledger:
    """The target stage: ``kgv.<table>`` + rows quarantined at any stage."""
    return Ledger(
        source_table,
        "target",
        TARGET,
        target_table,
        TARGET_PARTITION,
        ("legacy", "transform", "target"),
    )


def _scoped(
    partitions: Sequence[str] | None, column: sql.Composable
) -> tuple[sql.Composable, list]:
    if partitions is None:
        return sql.SQL("TRUE"), []
    return sql.SQL("{} = ANY(%s)").format(column), [list(partitions)]


def recount(
    conn: psycopg.Connection, ledger: Ledger, partitions: Sequence[str] | None
) -> pd.DataFrame:
    """Loaded and quarantined rows per partition, counted from the tables (index: partition)."""
    frames = []
    exists = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL",
        (sql.Identifier(ledger.schema, ledger.table).as_string(conn),),
    ).fetchone()
    if exists and exists[0]:
        where, params = _scoped(partitions, sql.Identifier(ledger.partition_column))
        loaded = conn.execute(
            sql.SQL("SELECT {p}, count(*) FROM {t} WHERE {where} GROUP BY 1").format(
                p=sql.Identifier(ledger.partition_column),
                t=sql.Identifier(ledger.schema, ledger.table),
                where=where,
            ),
            params,
        ).fetchall()
        frames.append(_series(loaded, "loaded"))
    where, params = _scoped(partitions, sql.Identifier("partition"))
    quarantined = conn.execute(
        sql.SQL(
            "SELECT partition, count(*) FROM migration.rejected_rows"
            " WHERE source_table = %s AND stage = ANY(%s) AND {where} GROUP BY 1"
        ).format(where=where),
        [ledger.source_table, list(ledger.quarantine_stages), *params],
    ).fetchall()
    frames.append(_series(quarantined, "quarantined"))
    return pd.concat(frames, axis=1).reindex(columns=["loaded", "quarantined"]).fillna(0)


def recorded(
    conn: psycopg.Connection, ledger: Ledger, partitions: Sequence[str] | None
) -> pd.DataFrame:
    """The accounting the loads recorded per partition (index: partition)."""
    where, params = _scoped(partitions, sql.Identifier("partition"))
    rows = conn.execute(
        sql.SQL(
            "SELECT partition, source_rows, loaded_rows, quarantined_rows"
            " FROM migration.reconciliation WHERE source_table = %s AND stage = %s AND {where}"
        ).format(where=where),
        [ledger.source_table, ledger.stage, *params],
    ).fetchall()
    return pd.DataFrame.from_records(
        rows, columns=["partition", *RECORDED], coerce_float=False
    ).set_index("partition")


def _series(rows: list[tuple[str, int]], name: str) -> pd.Series:
    return pd.Series({str(k): int(n) for k, n in rows}, name=name, dtype="int64").rename_axis(
        "partition"
    )


def compare(
    source_counts: Mapping[str, int],
    counted: pd.DataFrame,
    records: pd.DataFrame,
    partitions: Sequence[str] | None,
) -> pd.DataFrame:
    """One row per partition: source, loaded, quarantined, the recorded figures and a status.

    Args:
        source_counts: Rows per partition counted by the source.
        counted: ``recount`` (loaded, quarantined per partition).
        records: ``recorded`` (the accounting per partition).
        partitions: The partitions to judge; None for every partition any side knows.
    """
    source = pd.Series(
        {k: n for k, n in source_counts.items() if partitions is None or k in partitions},
        name="source",
        dtype="int64",
    ).rename_axis("partition")
    frame = pd.concat([source, counted, records], axis=1)
    frame = frame.reindex(columns=[*COUNTS, *RECORDED])
    frame[COUNTS] = frame[COUNTS].fillna(0).astype("int64")
    frame = frame.reindex(sort_partition_keys([str(k) for k in frame.index]))
    lost = frame["source"] != frame["loaded"] + frame["quarantined"]
    unrecorded = frame["recorded_source"].isna() & (frame[COUNTS].sum(axis=1) > 0)
    recorded_values = frame[RECORDED].fillna(-1).astype("int64").to_numpy()
    differs = frame["recorded_source"].notna() & (recorded_values != frame[COUNTS].to_numpy()).any(
        axis=1
    )
    findings = pd.DataFrame(
        {
            "source ≠ loaded + quarantined": lost,
            "no load recorded": unrecorded,
            "recorded ≠ recounted": differs,
        }
    )
    frame["status"] = [
        "; ".join(str(name) for name, hit in row.items() if hit) or "ok"
        for row in findings.to_dict("records")
    ]
    return frame.reset_index(names="partition")


def reconcile(
    conn: psycopg.Connection,
    ledger: Ledger,
    source_counts: Mapping[str, int],
    partitions: Sequence[str] | None = None,
) -> Outcome:
    """Check source = loaded + quarantined for ``partitions`` (None: all) of one stage.

    Args:
        conn: A connection to the target PostgreSQL.
        ledger: The stage and table being reconciled (``staging_ledger``/``target_ledger``).
        source_counts: Rows per partition as the source counts them now.
        partitions: The partitions to check; None for all.
    """
    counted = recount(conn, ledger, partitions)
    frame = compare(source_counts, counted, recorded(conn, ledger, partitions), partitions)
    failing = frame[frame["status"] != "ok"]
    source, loaded, quarantined = (int(frame[c].sum()) for c in COUNTS)
    unaccounted = int((frame["source"] - frame["loaded"] - frame["quarantined"]).abs().sum())
    figures: dict[str, int | float] = {
        "partitions": len(frame),
        "partitions_failing": len(failing),
        "source_rows": source,
        "loaded_rows": loaded,
        "quarantined_rows": quarantined,
        "quarantined_percent": percent(quarantined, source),
        "rows_unaccounted": unaccounted,
    }
    if failing.empty:
        summary = (
            f"{ledger.qualified}: all {len(frame)} partitions reconcile — {source} source rows ="
            f" {loaded} loaded + {quarantined} quarantined."
        )
    else:
        summary = (
            f"{ledger.qualified}: {len(failing)} of {len(frame)} partitions do not reconcile"
            f" ({unaccounted} rows unaccounted for): "
            + "; ".join(sorted(set(failing["status"])))
            + "."
        )
    return Outcome(
        passed=failing.empty,
        severity="ERROR",
        summary=summary,
        figures=figures,
        tables={"per_partition": frame},
        samples={"partitions_failing": sample(failing["partition"])} if len(failing) else {},
    )
