"""Dagster's run, event and schedule storage in PostgreSQL, with a connection kept open.

dagster-postgres opens a new connection for every storage call (SQLAlchemy's NullPool, so
that many instances in one process never accumulate connections). A run of the migration
stores about a thousand events, each with about three storage calls: measured on the demo
(220,956 rows) that was 3,117 connections and 8.6 s of connecting alone, a fifth of the run.
These subclasses keep one connection per storage and process open and reuse it (a queue pool
of one; checked before use and renewed after ``POOL_RECYCLE_SECONDS``, so a restarted server
costs one failed ping, never a failed run); everything else is dagster-postgres unchanged.
``dagster.yaml`` names them instead of the ``storage: postgres:`` shorthand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, pg_url_from_config

POOL_RECYCLE_SECONDS = 600


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
