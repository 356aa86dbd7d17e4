"""The column schema a table really has in PostgreSQL, and what changed between two of them.

Materializations report it as ``dagster/column_schema`` (read from the catalogue of the live
database, not from code), so a column added, dropped or retyped by a new SQL file or by hand
shows up in the column-schema change checks. Descriptions come from the asset's declared
schema (the mapping rules), types and nullability from PostgreSQL.
"""

from __future__ import annotations

import dagster as dg
import psycopg
from psycopg import sql


def read_columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str, bool]]:
    """(name, type as PostgreSQL writes it, nullable) of each column, in table order."""
    rows = conn.execute(
        """SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
             FROM pg_attribute a
            WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""",
        (sql.Identifier(schema, table).as_string(conn),),
    ).fetchall()
    return [(str(n), str(t), bool(nullable)) for n, t, nullable in rows]


def live_column_schema(
    conn: psycopg.Connection, schema: str, table: str, declared: dg.TableSchema | None = None
) -> dg.TableSchema:
    """The table's columns as Dagster metadata, described by ``declared`` where it names them."""
    descriptions = {c.name: c.description for c in declared.columns} if declared else {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name,
                type_,
                description=descriptions.get(name),
                constraints=dg.TableColumnConstraints(nullable=nullable),
            )
            for name, type_, nullable in read_columns(conn, schema, table)
        ]
    )


def schema_changes(before: dg.TableSchema, after: dg.TableSchema) -> list[str]:
    """What changed from ``before`` to ``after``: added, removed and retyped columns."""
    old = {c.name: c.type for c in before.columns}
    new = {c.name: c.type for c in after.columns}
    changes = [f"added {n} ({t})" for n, t in new.items() if n not in old]
    changes += [f"removed {n}" for n in old if n not in new]
    changes += [f"{n}: {old[n]} → {t}" for n, t in new.items() if n in old and old[n] != t]
    return changes
