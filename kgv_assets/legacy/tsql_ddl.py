"""T-SQL DDL of the legacy schema, generated from the catalogue.

``sql/legacy/create_legacy_schema.sql`` is this module's output (a test keeps it in step), so
a user can create an empty legacy database on a real SQL Server to test the extractor: the
same tables, types and primary keys — and, like the original, no foreign keys or indexes.
Regenerate with ``python -m kgv_assets.legacy.tsql_ddl > sql/legacy/create_legacy_schema.sql``.
"""

from __future__ import annotations

from pathlib import Path

from kgv_assets.legacy.catalogue import TABLES, Table

DDL_FILE = Path(__file__).resolve().parents[2] / "sql" / "legacy" / "create_legacy_schema.sql"


def _quote(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def table_ddl(table: Table, schema: str = "dbo") -> str:
    """``CREATE TABLE`` for one legacy table."""
    lines = [
        f"    {_quote(c.name)} {c.tsql_type} {'NULL' if c.nullable else 'NOT NULL'}"
        for c in table.columns
    ]
    if table.primary_key:
        lines.append(
            f"    CONSTRAINT {_quote('PK_' + table.name)} "
            f"PRIMARY KEY NONCLUSTERED ({_quote(table.primary_key)})"
        )
    body = ",\n".join(lines)
    return f"CREATE TABLE {_quote(schema)}.{_quote(table.name)} (\n{body}\n);\nGO\n"


def schema_ddl(schema: str = "dbo") -> str:
    """The whole legacy schema as one T-SQL script (batches separated by GO)."""
    head = (
        "-- The legacy KGV schema (SQL Server). Generated from kgv_assets/legacy/catalogue.py:\n"
        "-- do not edit by hand. Only the ID columns are NOT NULL; no foreign keys, no indexes;\n"
        "-- six tables have no primary key (as in production).\n"
        "SET ANSI_NULLS ON;\nGO\nSET QUOTED_IDENTIFIER ON;\nGO\n\n"
    )
    return head + "\n".join(table_ddl(t, schema) for t in TABLES)


if __name__ == "__main__":
    import sys

    sys.stdout.write(schema_ddl())
