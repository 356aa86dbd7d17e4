"""Dagster's run, event and schedule storage in PostgreSQL, with a connection kept open.

dagster-postgres opens a new connection for every storage call (SQLAlchemy's NullPool, so
that many instances in one process never accumulate connections). A run of the migration
stores about a thousand events, each with about three storage calls: measured on the demo
(220,956 rows) that was 3,117 connections and 8.6 s of connecting alone, a fifth of the run.
These subclasses keep one connection per storage and process open and reuse it (a queue pool
of one; checked before use and renewed after ``POOL_RECYCLE_SECONDS``, so a restarted server
costs one failed ping, never a failed run); everything else is dagster-postgres unchanged.
``dagster.yaml`` names them instead of the ``storage: postgres:`` shorthand.

Their sessions also commit asynchronously (``synchronous_commit = off``): each of a run's
thousand-odd events is a commit of its own, and waiting for its WAL flush cost about a
millisecond each (0.14 ms without, measured on this machine's disk). PostgreSQL documents
the trade: a server crash may lose the last fraction of a second of events (at most three
``wal_writer_delay``), never corrupt anything. That is Dagster's run log only: the migration's
own writes, its accounting and quarantine, are other sessions and commit synchronously.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, pg_url_from_config
from sqlalchemy import event

POOL_RECYCLE_SECONDS = 600


def _asynchronous_commit(dbapi_conn: Any, _record: Any) -> None:
    """On every new storage connection: commits do not wait for their WAL flush."""
    with dbapi_conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
    dbapi_conn.commit()  # before SQLAlchemy switches the connection to autocommit


def _pooled(storage: Any) -> None:
    """Swap the storage's NullPool engine for one that keeps a connection."""
    previous: sa.engine.Engine = storage._engine
    storage._engine = create_pg_engine(
        storage.postgres_url,
        storage._token_provider,
        isolation_level="AUTOCOMMIT",
        pool_size=1,
        max_overflow=4,
        pool_pre_ping=True,
        pool_recycle=POOL_RECYCLE_SECONDS,
    )
    event.listen(storage._engine, "connect", _asynchronous_commit)
    previous.dispose()


class _Pooled:
    """Create the storage as dagster-postgres does (same configuration), then pool it."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: Any = None,
    ) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data)  # type: ignore[call-arg]
        _pooled(self)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]) -> Any:
        """The ``postgres_url`` / ``postgres_db`` configuration of dagster-postgres."""
        return cls(
            pg_url_from_config(config_value),
            config_value.get("should_autocreate_tables", True),
            inst_data,
        )


class PooledPostgresRunStorage(_Pooled, PostgresRunStorage):
    """``PostgresRunStorage`` with a pooled connection."""


class PooledPostgresEventLogStorage(_Pooled, PostgresEventLogStorage):
    """``PostgresEventLogStorage`` with a pooled connection."""


class PooledPostgresScheduleStorage(_Pooled, PostgresScheduleStorage):
    """``PostgresScheduleStorage`` with a pooled connection."""
