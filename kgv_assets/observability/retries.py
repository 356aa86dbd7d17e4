"""Which load failures deserve another try, and the retry policy of the load steps.

Every load (staging and target) is one transaction: when it fails, PostgreSQL rolls all of it
back, so another attempt starts from the state before the first — a retry is always safe.
It is only useful when the cause goes away by itself: the connection was lost (a failover, a
restarted server, ``pg_terminate_backend``), the server is shutting down or not accepting
connections yet, or the transaction lost a serialization conflict or a deadlock. A data error —
a constraint the rows break, a value PostgreSQL rejects, a bug in a rule — fails the same way
every time; retrying it would only delay the failure and bury it in the event log. So the load
steps carry ``LOAD_RETRY`` (exponential backoff with jitter) and their bodies are wrapped in
``transient_errors_only``: a transient error is re-raised for the policy to retry, anything
else becomes a ``dg.Failure(allow_retries=False)``, which Dagster never retries.

A run whose worker died (killed, out of memory, node lost) is a different case: its steps
never report a failure at all. ``dagster.yaml`` retries those runs (``run_retries`` with
``retry_on_asset_or_op_failure: false``) after run monitoring marks them failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import dagster as dg
import psycopg
import sqlalchemy.exc
from psycopg_pool import PoolTimeout

P = ParamSpec("P")
R = TypeVar("R")

# Up to 3 more attempts, 5 s, 10 s, 20 s apart (± jitter, so that runs that lost the same
# server do not all come back at the same instant).
LOAD_RETRY = dg.RetryPolicy(
    max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

# SQLSTATEs of PostgreSQL and of SQL Server's ODBC drivers that say "try again".
TRANSIENT_SQLSTATES = frozenset(
    {
        "08000",  # connection_exception
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "08003",  # connection_does_not_exist
        "08004",  # sqlserver_rejected_establishment_of_sqlconnection
        "08006",  # connection_failure
        "08007",  # transaction_resolution_unknown
        "08S01",  # ODBC: communication link failure
        "40001",  # serialization_failure (SQL Server: chosen as deadlock victim)
        "40P01",  # deadlock_detected
        "53300",  # too_many_connections
        "57P01",  # admin_shutdown (pg_terminate_backend, a fast shutdown)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, recovering)
        "HYT00",  # ODBC: timeout expired
        "HYT01",  # ODBC: connection timeout expired
    }
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a psycopg, SQLAlchemy or pyodbc error, if it carries one."""
    if isinstance(error, psycopg.Error):
        return error.sqlstate
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        return _sqlstate(error.orig) if error.orig is not None else None
    args = getattr(error, "args", ())
    # pyodbc.Error: args = (sqlstate, message)
    if type(error).__module__ == "pyodbc" and args and isinstance(args[0], str):
        return args[0]
    return None


def _is_transient_one(error: BaseException) -> bool:
    state = _sqlstate(error)
    if state is not None:
        return state in TRANSIENT_SQLSTATES
    if isinstance(error, psycopg.OperationalError):
        # No SQLSTATE: libpq lost the server ("server closed the connection unexpectedly",
        # "consuming input failed", "connection refused", "the connection is closed").
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, PoolTimeout)  # no connection could be had in time


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` (or what it was raised from) is a transient database error."""
    return any(_is_transient_one(e) for e in _chain(error))


def describe(error: BaseException) -> str:
    """The error's class and SQLSTATE: what an operator needs, without the message's values."""
    state = next((s for s in map(_sqlstate, _chain(error)) if s), None)
    return f"{type(error).__name__}" + (f" (SQLSTATE {state})" if state else "")


def transient_errors_only(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap an asset body so that its retry policy retries transient database errors only.

    A transient error is logged in one line and re-raised (the step's ``RetryPolicy`` retries
    it after its backoff); any other exception is raised as ``dg.Failure(allow_retries=False)``
    chained to the original, so the step fails at once with the original error as its cause.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except dg.Failure:
            raise
        except Exception as error:
            if is_transient(error):
                dg.get_dagster_logger().warning(
                    "transient database error, the step will be retried: %s", describe(error)
                )
                raise
            raise dg.Failure(
                description=(
                    f"{describe(error)} is not a transient database error: the load is not "
                    "retried (its transaction was rolled back; fix the cause and re-execute)"
                ),
                allow_retries=False,
            ) from error

    return wrapper
