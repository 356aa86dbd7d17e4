"""Where a check finds a table's rows: its name, key and partition column, as SQL fragments.

Every check on a loaded table reads it through a ``CheckedTable``, so scoping to partitions,
naming a row by its key and counting per partition are written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.layout import TARGET, TARGET_PARTITION, UNPARTITIONED, TargetTable
from kgv_assets.partitions import sort_partition_keys


@dataclass(frozen=True)
class CheckedTable:
    """A loaded table as checks see it.

    Attributes:
        schema: Its PostgreSQL schema (``kgv``).
        name: Its name.
        key: The columns that identify a row (the primary key).
        partition_column: The column naming each row's legacy partition; None where the
            table has none (its rows count as partition ``all``).
    """

    schema: str
    name: str
    key: tuple[str, ...]
    partition_column: str | None = TARGET_PARTITION

    @classmethod
    def of(cls, table: TargetTable) -> CheckedTable:
        """The target table ``table`` (from ``kgv_assets.layout``) as checks see it."""
        return cls(TARGET, table.name, table.key, table.partition_column)

    @property
    def qualified(self) -> str:
        """``schema.name`` for people."""
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        """The quoted table name."""
        return sql.Identifier(self.schema, self.name)

    @property
    def partition(self) -> sql.Composable:
        """The partition of a row of alias ``t``."""
        if self.partition_column is None:
            return sql.Literal(UNPARTITIONED)
        return sql.SQL("t.{}").format(sql.Identifier(self.partition_column))

    @property
    def key_text(self) -> sql.Composable:
        """A row's key as text ('<uuid>', or 'a/b' for a composite key) for alias ``t``."""
        return sql.SQL("concat_ws('/', {})").format(
            sql.SQL(", ").join(sql.SQL("t.{}::text").format(sql.Identifier(k)) for k in self.key)
        )

    def scope(self, partitions: Sequence[str] | None) -> tuple[sql.Composable, list[object]]:
        """A condition on alias ``t`` limiting rows to ``partitions`` (None: all), and params."""
        if partitions is None or self.partition_column is None:
            return sql.SQL("TRUE"), []
        return sql.SQL("{} = ANY(%s)").format(self.partition), [list(partitions)]

    def with_key_counts(self) -> sql.Composable:
        """The table's keys and partitions, each row with how many rows share its key.

        A FROM item for ``count_where``/``sample_keys`` (condition ``t._key_rows > 1``): one sort
        of the key columns, linear in the table. The obvious ``key IN (SELECT key … HAVING
        count(*) > 1)`` is planned as a subplan re-run for every row once PostgreSQL expects its
        result not to fit in work_mem (from a few hundred thousand rows: quadratic).
        """
        columns = [*self.key, *([self.partition_column] if self.partition_column else [])]
        return sql.SQL(
            "(SELECT {cols}, count(*) OVER (PARTITION BY {keys}) AS _key_rows FROM {t})"
        ).format(
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            keys=sql.SQL(", ").join(map(sql.Identifier, self.key)),
            t=self.ident,
        )

    def count_where(
        self,
        conn: psycopg.Connection,
        conditions: dict[str, sql.Composable],
        partitions: Sequence[str] | None,
        source: sql.Composable | None = None,
        where: sql.Composable | None = None,
    ) -> pd.DataFrame:
        """Per partition in scope: all rows, and the rows meeting each named condition.

        ``source`` is the FROM item (default: the table itself), aliased ``t``; ``where``, a
        condition on ``t``, narrows the rows counted (partitions without such rows are left
        out).

        Returns:
            Columns ``partition``, ``rows`` and one per condition, partitions in reading order.
        """
        scope, params = self.scope(partitions)
        filters = [
            sql.SQL("count(*) FILTER (WHERE {})").format(condition)
            for condition in conditions.values()
        ]
        query = sql.SQL(
            "SELECT {p}, count(*){filters} FROM {t} t WHERE {scope} AND ({where}) GROUP BY 1"
        ).format(
            p=self.partition,
            filters=sql.SQL("").join(sql.SQL(", ") + f for f in filters),
            t=source or self.ident,
            scope=scope,
            where=where or sql.SQL("TRUE"),
        )
        rows = conn.execute(query, params).fetchall()
        frame = pd.DataFrame.from_records(
            rows, columns=["partition", "rows", *conditions], coerce_float=False
        )
        order = sort_partition_keys([str(p) for p in frame["partition"]])
        return frame.set_index("partition").reindex(order).reset_index()

    def sample_keys(
        self,
        conn: psycopg.Connection,
        condition: sql.Composable,
        partitions: Sequence[str] | None,
        limit: int,
        source: sql.Composable | None = None,
    ) -> list[str]:
        """The first ``limit`` distinct keys of rows in scope meeting ``condition`` (key order)."""
        scope, params = self.scope(partitions)
        query = sql.SQL(
            "SELECT DISTINCT {key} FROM {t} t WHERE {scope} AND ({condition}) ORDER BY 1 LIMIT %s"
        ).format(key=self.key_text, t=source or self.ident, scope=scope, condition=condition)
        return [str(k) for (k,) in conn.execute(query, [*params, limit]).fetchall()]
