"""The writer of both stages: COPY into a table, and the merge of a load into a ``kgv`` table.

``BulkLoad`` (a first load into an empty table, staging or target) and ``is_empty`` serve both
stages; ``MergeWriter`` writes a target load, idempotent, partition-aware and audit-friendly.
The rows of the partitions being loaded are first COPied into a temporary table, then merged
by the table's key in three set-based statements:

1. delete target rows of these partitions whose key is no longer delivered (deleted in the
   source, quarantined now, or moved to another partition that is not loaded in this run);
2. update rows whose content differs (``IS DISTINCT FROM``), wherever they are — a row whose
   date moved to another year moves with it, so loading the two years in either order never
   duplicates it and never hits a key conflict;
3. insert new keys.

A second run of unchanged data therefore changes nothing (and the audit trail records
nothing). Into an empty table the rows are COPied directly, with auditing switched off for
that transaction (``SET LOCAL kgv.audit = 'off'``): the initial bulk load is not a change.
That bulk load also defers what PostgreSQL would otherwise do row by row (``BulkLoad``): the
table's foreign keys are dropped and added again (one validating join instead of a lookup per
row; a partitioned table's by probing the referenced key, see ``_probing_foreign_keys``), and
the audit triggers, which would collect every row in their transition tables only to ignore
them, are disabled. A staging table's secondary indexes are dropped and built again
after the COPY; a target table keeps them, since PostgreSQL maintains them on the other core
while Python converts the next chunk (building them afterwards left Python waiting). All of
it happens inside the load's transaction: a failed load rolls it back, and other sessions
never see the table without its indexes or constraints.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import LiteralString, cast

import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.layout import TARGET, TARGET_PARTITION
from kgv_assets.load.accounting import MergeCounts
from kgv_assets.resources.copy_format import polars_for_copy
from kgv_assets.resources.postgres import CopyStream


def _cols(names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _match(key: Sequence[str], left: str, right: str) -> sql.Composed:
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(
            sql.Identifier(left), sql.Identifier(k), sql.Identifier(right), sql.Identifier(k)
        )
        for k in key
    )


def is_empty(conn: psycopg.Connection, table: str, schema: str = TARGET) -> bool:
    """Whether ``<schema>.<table>`` (``kgv`` unless given) holds no rows at all."""
    row = conn.execute(
        sql.SQL("SELECT NOT EXISTS (SELECT FROM {})").format(sql.Identifier(schema, table))
    ).fetchone()
    return bool(row and row[0])


def _owned(conn: psycopg.Connection, name: str) -> bool:
    """Whether the login may act as the owner of table ``name`` (a member of it, a superuser)."""
    row = conn.execute(
        "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class"
        " WHERE oid = %s::regclass",
        (name,),
    ).fetchone()
    return bool(row and row[0])


def analyze(conn: psycopg.Connection, schema: str, table: str) -> None:
    """Renew the planner's statistics of ``schema.table`` (after an erasure: they sample values).

    ANALYZE needs the table's owner in PostgreSQL 15. A login that owns the table (or a
    superuser) runs it itself; any other asks the owner's SECURITY DEFINER function
    ``migration.analyze_table`` (sql/target/130_least_privilege.sql). Asking the function
    always was not enough: it runs as ``kgv_owner``, and a table another role owns (tables a
    superuser created) was skipped with nothing but a server warning, its old statistics
    kept.
    """
    name = sql.Identifier(schema, table)
    if _owned(conn, name.as_string(conn)):
        conn.execute(sql.SQL("ANALYZE {}").format(name))
    else:
        conn.execute("SELECT migration.analyze_table(%s::regclass)", (name.as_string(conn),))


_ON_ONLY = re.compile(r" ON ONLY ")


def _from_catalog(text: str) -> LiteralString:
    """SQL that PostgreSQL itself wrote (``pg_get_indexdef``, ``pg_get_constraintdef``)."""
    return cast(LiteralString, text)


PROBING = {"enable_hashjoin": "off", "enable_mergejoin": "off"}
"""The planner settings under which a partitioned table's foreign keys are validated."""


@contextmanager
def _probing_foreign_keys(conn: psycopg.Connection, name: str) -> Iterator[None]:
    """A partitioned table's foreign keys validated by probing the referenced key per row.

    PostgreSQL 15 validates a foreign key of a partitioned table once per partition, and hashes
    the whole referenced table each time: the history's 42 yearly partitions hashed the 180,000
    applications 42 times (2.3 s for its two keys at 1M rows). Probing the referenced table's
    unique index for each row instead took 1.25 s (side by side, same data). The settings are
    the load transaction's (``set_config(…, true)``) and are put back afterwards; after an
    error the transaction's rollback undoes them. Other tables validate as the planner likes.
    """
    found = conn.execute(
        "SELECT relkind = 'p' FROM pg_class WHERE oid = %s::regclass", (name,)
    ).fetchone()
    if not (found and found[0]):
        yield
        return
    saved = {setting: _setting(conn, setting) for setting in PROBING}
    _configure(conn, PROBING)
    yield
    _configure(conn, saved)


def _setting(conn: psycopg.Connection, setting: str) -> str:
    row = conn.execute("SELECT current_setting(%s)", (setting,)).fetchone()
    assert row is not None, "current_setting returns a row"
    return str(row[0])


def _configure(conn: psycopg.Connection, settings: dict[str, str]) -> None:
    for setting, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, true)", (setting, value))


@dataclass
class BulkLoad:
    """What a bulk load into an empty table defers to the end of its transaction.

    Only the table's owner (a member of ``kgv_owner``) may do this directly; the loader's
    login asks the owner's SECURITY DEFINER functions ``migration.bulk_load_begin`` and
    ``bulk_load_finish`` instead; anyone else defers nothing and loads as without it.
    """

    table: sql.Composable
    indexes: list[str] = field(default_factory=list)
    foreign_keys: list[tuple[str, str]] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    by_function: bool = False

    @classmethod
    def begin(
        cls, conn: psycopg.Connection, schema: str, table: str, defer_indexes: bool = True
    ) -> BulkLoad:
        """Drop the foreign keys (and the secondary indexes) and disable the audit triggers.

        ``defer_indexes=False`` keeps the indexes: PostgreSQL maintains them during the COPY,
        on the other core, while the caller prepares the next chunk (a target load, whose
        conversion in Python takes longer than PostgreSQL's insert and index work).
        """
        target = sql.Identifier(schema, table)
        name = target.as_string(conn)  # quoted: staging tables have mixed-case names
        deferred = cls(target)
        if not _owned(conn, name):
            # The loader owns no table: the owner's function defers the same, where it may
            # call it (sql/target/130_least_privilege.sql, 140_bulk_load_keeps_indexes.sql).
            granted = conn.execute(
                "SELECT has_function_privilege("
                "to_regprocedure('migration.bulk_load_begin(regclass, boolean)'), 'EXECUTE')"
            ).fetchone()
            if granted and granted[0]:
                conn.execute(
                    "SELECT migration.bulk_load_begin(%s::regclass, %s)", (name, defer_indexes)
                )
                deferred.by_function = True
            return deferred
        # Indexes that back no constraint (primary keys and UNIQUE stay: they are the rules).
        for index, definition in conn.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass"
            " AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " AND %s ORDER BY c.relname",
            (name, defer_indexes),
        ).fetchall():
            # A partitioned table's index is listed ON ONLY the parent; rebuilt, it recurses.
            deferred.indexes.append(_ON_ONLY.sub(" ON ", definition, count=1))
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, index)))
        for constraint, definition in conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f' AND conparentid = 0"
            " ORDER BY conname",
            (name,),
        ).fetchall():
            deferred.foreign_keys.append((constraint, definition))
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    target, sql.Identifier(constraint)
                )
            )
        for (trigger,) in conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
            " AND tgenabled <> 'D' AND tgname LIKE 'audit%%' ORDER BY tgname",
            (name,),
        ).fetchall():
            deferred.triggers.append(trigger)
            conn.execute(
                sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(target, sql.Identifier(trigger))
            )
        return deferred

    def finish(self, conn: psycopg.Connection) -> None:
        """Build the indexes, add (and so validate) the foreign keys, enable the triggers."""
        name = self.table.as_string(conn)
        with _probing_foreign_keys(conn, name):
            if self.by_function:
                conn.execute("SELECT migration.bulk_load_finish(%s::regclass)", (name,))
            for definition in self.indexes:
                conn.execute(sql.SQL(_from_catalog(definition)))
            for constraint, definition in self.foreign_keys:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                        self.table, sql.Identifier(constraint), sql.SQL(_from_catalog(definition))
                    )
                )
        for trigger in self.triggers:
            conn.execute(
                sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(
                    self.table, sql.Identifier(trigger)
                )
            )


class MergeWriter:
    """Collects the chunks of one load, then merges them into the target in one transaction.

    Use inside the caller's transaction::

        with MergeWriter(conn, "applications", columns, key=["id"]) as writer:
            for chunk in chunks:
                writer.add(chunk)
            counts = writer.merge(partition_keys)

    With ``stream=True`` the chunks go into one COPY that stays open between ``add`` calls
    (``CopyStream``: PostgreSQL stores a chunk while the caller prepares the next); the
    connection then runs nothing else until ``interrupt`` or ``merge``, so the caller reads
    its rows through another connection. Without it each ``add`` is a COPY of its own.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        *,
        stream: bool = False,
    ) -> None:
        """Prepare the load (decides between the bulk path and the merge path)."""
        self.conn = conn
        self.table = table
        self.columns = list(columns)
        self.key = list(key)
        self.stream = stream
        self.rows = 0
        self.index_seconds = 0.0  # of merge: building what the bulk path deferred
        self.bulk = is_empty(conn, table)
        self._deferred: BulkLoad | None = None
        if self.bulk:
            conn.execute("SET LOCAL kgv.audit = 'off'")
            # Sorts for the index builds and the foreign key validation in memory.
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # The indexes stay: PostgreSQL maintains them beside the conversion (BulkLoad).
            self._deferred = BulkLoad.begin(conn, TARGET, table, defer_indexes=False)
            self._into = (TARGET, table)
        else:
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {cols} FROM {target} LIMIT 0"
                ).format(
                    tmp=sql.Identifier("incoming"),
                    cols=_cols(self.columns),
                    target=sql.Identifier(TARGET, table),
                )
            )
            self._into = ("pg_temp", "incoming")

        self._copy = CopyStream(conn, *self._into, self.columns)

    def add(self, frame: pd.DataFrame) -> None:
        """COPY one chunk of target rows (with ``self.columns``), as csv written by polars.

        The rows' values are those the COPY text of the pandas frame would carry
        (``polars_for_copy``); polars writes them in Rust instead of Python per column.
        """
        self.rows += self._copy.write(polars_for_copy(frame[self.columns]))
        if not self.stream:
            self._copy.close()

    def interrupt(self, run: Callable[[psycopg.Connection], object]) -> None:
        """Close the open COPY and ``run`` something on the connection (see ``CopyStream``)."""
        self._copy.interrupt(run)

    def __enter__(self) -> MergeWriter:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        self._copy.close(error)

    def merge(self, partition_keys: Sequence[str] | None) -> MergeCounts:
        """Merge what was added into the target (bulk path: build what was deferred)."""
        self._copy.close()
        if self.bulk:
            if self._deferred is not None:
                started = time.perf_counter()
                self._deferred.finish(self.conn)
                self.index_seconds = time.perf_counter() - started
            return MergeCounts(self.rows, 0, 0)
        target = sql.Identifier(TARGET, self.table)
        where_partition = (
            sql.SQL("t.{} = ANY(%s) AND").format(sql.Identifier(TARGET_PARTITION))
            if partition_keys is not None
            else sql.SQL("")
        )
        params = [list(partition_keys)] if partition_keys is not None else []
        self.conn.execute("ANALYZE pg_temp.incoming")
        deleted = self.conn.execute(
            sql.SQL(
                "DELETE FROM {target} t WHERE {where} NOT EXISTS "
                "(SELECT FROM pg_temp.incoming i WHERE {match})"
            ).format(target=target, where=where_partition, match=_match(self.key, "i", "t")),
            params,
        ).rowcount
        values = [c for c in self.columns if c not in self.key]
        updated = self.conn.execute(
            sql.SQL(
                "UPDATE {target} t SET ({cols}) = ROW({icols}) FROM pg_temp.incoming i "
                "WHERE {match} AND ({tcols}) IS DISTINCT FROM ({icols})"
            ).format(
                target=target,
                cols=_cols(values),
                icols=sql.SQL(", ").join(sql.SQL("i.{}").format(sql.Identifier(c)) for c in values),
                tcols=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in values),
                match=_match(self.key, "i", "t"),
            )
        ).rowcount
        # After the UPDATE every target row with an incoming key holds that row's values, its
        # partition among ``partition_keys`` (a row that moved years was moved by the UPDATE):
        # the lookup is confined to those partitions (one yearly partition of the history
        # probed per row instead of every year's).
        inserted = self.conn.execute(
            sql.SQL(
                "INSERT INTO {target} ({cols}) SELECT {cols} FROM pg_temp.incoming i "
                "WHERE NOT EXISTS (SELECT FROM {target} t WHERE {where} {match})"
            ).format(
                target=target,
                cols=_cols(self.columns),
                where=where_partition,
                match=_match(self.key, "i", "t"),
            ),
            params,
        ).rowcount
        return MergeCounts(inserted, updated, deleted)
