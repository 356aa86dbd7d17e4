"""The bulk load into an empty target table: deferred indexes, foreign keys and audit triggers.

Real PostgreSQL with the target schema applied: after a bulk load every index, foreign key and
trigger is back exactly as the schema defines it (also on the range-partitioned history), a
row breaking a foreign key still fails the load (and the rollback restores everything), the
bulk load is not audited, and a later merge is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg
import pytest

from kgv_assets.load.writer import BulkLoad, MergeWriter, _probing_foreign_keys, analyze
from kgv_assets.schema_migrations import apply_sql_files
from kgv_assets_tests.conftest import login_url, prepare_logins

USER_COLUMNS = ["id", "first_name", "is_active", "legacy", "legacy_hash", "legacy_partition"]
LOGIN_COLUMNS = ["id", "login_name", "user_id", "legacy", "legacy_hash", "legacy_partition"]


def _uid(i: int) -> str:
    return f"00000000-0000-0000-0000-{i:012d}"


def _catalog(conn: psycopg.Connection, table: str) -> dict[str, Any]:
    """What a bulk load must leave as it was: indexes, foreign keys, triggers (and states)."""
    return {
        "indexes": conn.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass"
            " ORDER BY 1",
            (table,),
        ).fetchall(),
        "partition_indexes": conn.execute(
            "SELECT count(*) FROM pg_inherits h JOIN pg_index i ON i.indexrelid = h.inhrelid"
            " WHERE h.inhparent IN (SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass)",
            (table,),
        ).fetchone(),
        "foreign_keys": conn.execute(
            "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY 1",
            (table,),
        ).fetchall(),
        "triggers": conn.execute(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass"
            " AND NOT tgisinternal ORDER BY 1",
            (table,),
        ).fetchall(),
    }


@pytest.fixture
def target(pg: psycopg.Connection) -> psycopg.Connection:
    apply_sql_files(pg)
    return pg


def _users(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [_uid(i) for i in range(n)],
            "first_name": [f"Name {i}" for i in range(n)],
            "is_active": [True] * n,
            "legacy": [None] * n,
            "legacy_hash": list(range(n)),
            "legacy_partition": ["all"] * n,
        }
    )


@pytest.mark.parametrize("defer_indexes", [True, False], ids=["indexes-deferred", "indexes-kept"])
@pytest.mark.parametrize("table", ["kgv.applications", "kgv.application_history"])
def test_deferred_objects_come_back_as_defined(
    target: psycopg.Connection, table: str, defer_indexes: bool
) -> None:
    before = _catalog(target, table)
    assert before["indexes"] and before["foreign_keys"] and before["triggers"]
    schema, name = table.split(".")
    with target.transaction():
        deferred = BulkLoad.begin(target, schema, name, defer_indexes)
        during = _catalog(target, table)
        if defer_indexes:
            assert len(during["indexes"]) < len(before["indexes"])
        else:
            assert during["indexes"] == before["indexes"]
        assert during["foreign_keys"] == []
        assert {state for _, state in during["triggers"]} == {"D"}
        deferred.finish(target)
    assert _catalog(target, table) == before


@pytest.mark.parametrize("defer_indexes", [True, False], ids=["indexes-deferred", "indexes-kept"])
def test_the_loader_defers_through_the_owners_function(pg_url: str, defer_indexes: bool) -> None:
    """The loader's login owns no table: the owner's function defers as asked, then restores."""
    prepare_logins(pg_url)
    with psycopg.connect(login_url(pg_url, "kgv_loader")) as conn:
        before = _catalog(conn, "kgv.applications")
        with conn.transaction():
            deferred = BulkLoad.begin(conn, "kgv", "applications", defer_indexes)
            assert deferred.by_function
            during = _catalog(conn, "kgv.applications")
            assert (during["indexes"] == before["indexes"]) is not defer_indexes
            assert during["foreign_keys"] == []
            deferred.finish(conn)
        assert _catalog(conn, "kgv.applications") == before


def test_bulk_load_then_merge(target: psycopg.Connection) -> None:
    before = {t: _catalog(target, t) for t in ("kgv.users", "kgv.identifiers")}
    with target.transaction():
        writer = MergeWriter(target, "users", USER_COLUMNS, ["id"])
        assert writer.bulk
        writer.add(_users(3))
        assert writer.merge(None).inserted == 3
    with target.transaction():
        writer = MergeWriter(target, "identifiers", LOGIN_COLUMNS, ["id"])
        writer.add(
            pd.DataFrame(
                {
                    "id": [_uid(10), _uid(11)],
                    "login_name": ["a", "b"],
                    "user_id": [_uid(0), None],
                    "legacy": [None, None],
                    "legacy_hash": [1, 2],
                    "legacy_partition": ["all", "all"],
                }
            )
        )
        writer.merge(None)
    assert {t: _catalog(target, t) for t in before} == before
    assert target.execute("SELECT count(*) FROM audit.log").fetchone() == (0,)

    changed = _users(4)
    changed.loc[1, "first_name"] = "Renamed"
    with target.transaction():
        writer = MergeWriter(target, "users", USER_COLUMNS, ["id"])
        assert not writer.bulk
        writer.add(changed)
        counts = writer.merge(None)
    assert (counts.inserted, counts.updated, counts.deleted) == (1, 1, 0)
    audited = target.execute(
        "SELECT operation, count(*) FROM audit.log WHERE table_name = 'kgv.users' GROUP BY 1"
    ).fetchall()
    assert sorted(audited) == [("INSERT", 1), ("UPDATE", 1)], "the merge is audited"


def test_a_broken_foreign_key_fails_the_bulk_load(target: psycopg.Connection) -> None:
    before = _catalog(target, "kgv.identifiers")
    with pytest.raises(psycopg.errors.ForeignKeyViolation), target.transaction():
        writer = MergeWriter(target, "identifiers", LOGIN_COLUMNS, ["id"])
        writer.add(
            pd.DataFrame(
                {
                    "id": [_uid(1)],
                    "login_name": ["a"],
                    "user_id": [_uid(99)],
                    "legacy": [None],
                    "legacy_hash": [1],
                    "legacy_partition": ["all"],
                }
            )
        )
        writer.merge(None)
    assert target.execute("SELECT count(*) FROM kgv.identifiers").fetchone() == (0,)
    assert _catalog(target, "kgv.identifiers") == before


def _planner(conn: psycopg.Connection) -> tuple[str, str]:
    row = conn.execute(
        "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
    ).fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.mark.parametrize(
    ("table", "probing"), [("kgv.application_history", True), ("kgv.applications", False)]
)
def test_a_partitioned_tables_foreign_keys_are_validated_by_probing(
    target: psycopg.Connection, table: str, probing: bool
) -> None:
    """Per partition PostgreSQL would hash the whole referenced table: index probes instead."""
    with target.transaction():
        target.execute("SET LOCAL enable_mergejoin = off")  # the caller's own setting stays
        with _probing_foreign_keys(target, table):
            assert _planner(target) == (("off", "off") if probing else ("on", "off"))
        assert _planner(target) == ("on", "off")
    assert _planner(target) == ("on", "on")


def test_a_broken_foreign_key_fails_the_bulk_load_of_a_partitioned_table(
    target: psycopg.Connection,
) -> None:
    before = _catalog(target, "kgv.application_history")
    with pytest.raises(psycopg.errors.ForeignKeyViolation), target.transaction():
        deferred = BulkLoad.begin(target, "kgv", "application_history", defer_indexes=False)
        target.execute(
            "INSERT INTO kgv.application_history (id, application_id, event_date, legacy_hash,"
            " legacy_partition) VALUES (%s, %s, '2001-05-01', 1, '2001')",
            (_uid(1), _uid(99)),
        )
        deferred.finish(target)
    assert target.execute("SELECT count(*) FROM kgv.application_history").fetchone() == (0,)
    assert _catalog(target, "kgv.application_history") == before
    assert _planner(target) == ("on", "on")


def _has_statistics(conn: psycopg.Connection, schema: str, table: str) -> bool:
    """Whether ANALYZE wrote column statistics for the table (nothing else writes pg_stats)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stats WHERE schemaname = %s AND tablename = %s", (schema, table)
    ).fetchone()
    return bool(row and row[0])


def test_analyze_renews_statistics_whoever_owns_the_table(pg_url: str) -> None:
    """A superuser's own table and, for the loader's login, a table kgv_owner owns.

    Before, every caller asked the owner's function, which runs as kgv_owner: a table the
    superuser had created was skipped with only a server warning, its statistics not renewed.
    """
    prepare_logins(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.mine AS SELECT g AS n, 'x' || g AS v FROM generate_series(1, 50) g"
        )
        analyze(conn, "public", "mine")
        assert _has_statistics(conn, "public", "mine"), "the superuser's own table"
        conn.execute(
            "INSERT INTO kgv.users (id, legacy_hash, legacy_partition)"
            " VALUES (gen_random_uuid(), 1, 'all')"
        )
        assert not _has_statistics(conn, "kgv", "users")
    with psycopg.connect(login_url(pg_url, "kgv_loader"), autocommit=True) as conn:
        analyze(conn, "kgv", "users")
        assert _has_statistics(conn, "kgv", "users"), "kgv_owner's table, through its function"
