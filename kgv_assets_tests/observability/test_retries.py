"""Which errors the load steps retry: real PostgreSQL errors classified, the wrapper's effect.

Each error is provoked on the real server — a terminated backend, a serialization conflict,
a deadlock, a division by zero, a broken CHECK and UNIQUE constraint, a bad value — and
``is_transient`` must call exactly the first three transient. ``transient_errors_only``
re-raises those for the retry policy and turns everything else into a Failure that Dagster
never retries. The retries of whole load steps are in ``test_transient_load.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import dagster as dg
import psycopg
import pytest

from kgv_assets.observability.retries import (
    LOAD_RETRY,
    describe,
    is_transient,
    transient_errors_only,
)


def raised(action: Callable[[], object]) -> BaseException:
    """The exception ``action`` raises (it must raise one)."""
    try:
        action()
    except Exception as error:
        return error
    raise AssertionError("expected an error")


@pytest.fixture
def table(pg: psycopg.Connection) -> None:
    """Table t in the fresh database: two rows, a primary key and a CHECK constraint."""
    pg.execute("CREATE TABLE t (id int PRIMARY KEY, n int CHECK (n >= 0))")
    pg.execute("INSERT INTO t VALUES (1, 1), (2, 2)")


def test_a_terminated_backend_is_transient(pg_url: str, pg: psycopg.Connection) -> None:
    with psycopg.connect(pg_url, autocommit=True) as victim:
        pg.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        error = raised(lambda: victim.execute("SELECT 1"))
    assert isinstance(error, psycopg.OperationalError)
    assert is_transient(error), describe(error)


def test_a_serialization_failure_is_transient(table: None, pg_url: str) -> None:
    with psycopg.connect(pg_url) as first, psycopg.connect(pg_url, autocommit=True) as second:
        first.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        first.execute("SELECT n FROM t WHERE id = 1").fetchall()
        second.execute("UPDATE t SET n = n + 1 WHERE id = 1")
        error = raised(lambda: first.execute("UPDATE t SET n = n + 1 WHERE id = 1"))
    assert isinstance(error, psycopg.errors.SerializationFailure)
    assert is_transient(error)
    assert describe(error) == "SerializationFailure (SQLSTATE 40001)"


def test_a_deadlock_is_transient(table: None, pg_url: str) -> None:
    errors: list[BaseException] = []
    with psycopg.connect(pg_url) as a, psycopg.connect(pg_url) as b:
        for conn in (a, b):
            conn.execute("SET deadlock_timeout = '100ms'")
        a.execute("UPDATE t SET n = 10 WHERE id = 1")
        b.execute("UPDATE t SET n = 20 WHERE id = 2")

        def cross(conn: psycopg.Connection, row: int) -> None:
            try:
                conn.execute("UPDATE t SET n = 30 WHERE id = %s", (row,))
            except psycopg.Error as error:
                errors.append(error)
                conn.rollback()

        waiter = threading.Thread(target=cross, args=(a, 2))
        waiter.start()
        cross(b, 1)
        waiter.join(timeout=30)
    assert len(errors) == 1
    assert isinstance(errors[0], psycopg.errors.DeadlockDetected)
    assert is_transient(errors[0])


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("SELECT 1 / 0", psycopg.errors.DivisionByZero),
        ("UPDATE t SET n = -1 WHERE id = 1", psycopg.errors.CheckViolation),
        ("INSERT INTO t VALUES (1, 5)", psycopg.errors.UniqueViolation),
        ("SELECT 'not a number'::int", psycopg.errors.InvalidTextRepresentation),
        ("SELECT * FROM no_such_table", psycopg.errors.UndefinedTable),
    ],
)
def test_data_and_program_errors_are_not_transient(
    table: None, pg: psycopg.Connection, statement: str, kind: type
) -> None:
    error = raised(lambda: pg.execute(statement))  # type: ignore[call-overload]
    assert isinstance(error, kind)
    assert not is_transient(error), describe(error)


def test_the_cause_decides() -> None:
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    try:
        try:
            raise lost
        except psycopg.OperationalError as error:
            raise RuntimeError("load failed") from error
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    assert not is_transient(ValueError("a rule's bug"))


def test_the_wrapper_retries_transient_errors_and_fails_data_errors_for_good(
    pg: psycopg.Connection,
) -> None:
    @transient_errors_only
    def load(statement: str) -> None:
        pg.execute(statement)  # type: ignore[call-overload]

    with pytest.raises(dg.Failure) as failed:
        load("SELECT 1 / 0")
    assert failed.value.allow_retries is False
    assert isinstance(failed.value.__cause__, psycopg.errors.DivisionByZero)
    assert "DivisionByZero (SQLSTATE 22012) is not a transient database error" in str(
        failed.value.description
    )

    with psycopg.connect(pg.info.dsn, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (pg.info.backend_pid,))
    with pytest.raises(psycopg.OperationalError):  # re-raised as is: the policy retries it
        load("SELECT 1")


def test_the_policy_backs_off_exponentially() -> None:
    assert LOAD_RETRY.max_retries == 3
    assert LOAD_RETRY.backoff == dg.Backoff.EXPONENTIAL
    assert LOAD_RETRY.jitter == dg.Jitter.PLUS_MINUS
