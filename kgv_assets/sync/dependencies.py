"""Cross-partition dependents: reload them over all partitions only when their parent changed.

``application_history`` rows look up whether their application exists; ``applications`` look
up their file reference by (district_code, number, year). A changed partition of the parent
can therefore change how rows in *any* partition of the dependent load (an application deleted
or newly valid, a file reference renumbered), which is why the sync plans a reload of the
dependent over all partitions (``kgv_assets.sync.runs``). Most changes touch neither: an
application's address changed, a history row's comment. So a load of a dependent over all its
partitions records a fingerprint of exactly the parent columns it looked up
(``migration.dependency_fingerprints``), and the daemon-free sync skips the dependents run when
every parent still has that fingerprint. The fingerprint is the row count and the sum of 64-bit
hashes of the looked-up columns, computed by PostgreSQL (one aggregate per parent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import psycopg
from psycopg import sql

from kgv_assets.layout import target_table
from kgv_assets.transform.tables.registry import LOADERS


def looked_up() -> dict[str, Mapping[str, tuple[str, ...]]]:
    """Dependent target table -> parent table -> the parent columns its load looks up."""
    return {c.mapping.target: c.looked_up for c in LOADERS if c.looked_up}


def parent_fingerprint(conn: psycopg.Connection, parent: str, columns: Sequence[str]) -> str:
    """``'<rows>:<checksum>'`` of ``columns`` of ``kgv.<parent>`` (order-independent)."""
    row = conn.execute(
        sql.SQL(
            "SELECT count(*), coalesce(sum(hashtextextended(ROW({cols})::text, 0)::numeric), 0)"
            " FROM {table}"
        ).format(
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            table=target_table(parent).ident,
        )
    ).fetchone()
    assert row is not None
    return f"{row[0]}:{row[1]}"


def current_fingerprints(
    conn: psycopg.Connection, parents: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """The fingerprints of ``parents`` (parent table -> looked-up columns) as they are now."""
    return {parent: parent_fingerprint(conn, parent, cols) for parent, cols in parents.items()}


def record(
    conn: psycopg.Connection, target: str, fingerprints: Mapping[str, str], run_id: str
) -> None:
    """Record that ``target`` was loaded, over all partitions, against ``fingerprints``."""
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO migration.dependency_fingerprints AS d
                   (target_table, parent_table, fingerprint, run_id)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (target_table, parent_table) DO UPDATE SET
                   fingerprint = excluded.fingerprint, run_id = excluded.run_id,
                   recorded_at = now()""",
            [(target, parent, fp, run_id) for parent, fp in fingerprints.items()],
        )


def stale(conn: psycopg.Connection, targets: Sequence[str]) -> list[str]:
    """Those of ``targets`` whose parents changed since their last load over all partitions.

    A dependent with no recorded fingerprint counts as stale (it was never loaded over all
    partitions by this version): reloading it is always correct, skipping needs the record.
    """
    recorded: dict[tuple[str, str], str] = {
        (t, p): fp
        for t, p, fp in conn.execute(
            "SELECT target_table, parent_table, fingerprint FROM migration.dependency_fingerprints"
            " WHERE target_table = ANY(%s)",
            (list(targets),),
        ).fetchall()
    }
    declared = looked_up()
    return [
        target
        for target in targets
        if target not in declared
        or any(
            recorded.get((target, parent)) != fp
            for parent, fp in current_fingerprints(conn, declared[target]).items()
        )
    ]
