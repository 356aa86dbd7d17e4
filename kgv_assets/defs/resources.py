"""Binds the resources to environment variables, read when a run starts (never at import)."""

import dagster as dg

from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource


@dg.definitions
def resources() -> dg.Definitions:
    """The legacy source (KGV_SOURCE_URL, KGV_SOURCE_SCHEMA) and the target (KGV_PG_URL)."""
    return dg.Definitions(
        resources={
            "legacy_source": LegacySourceResource(
                url=dg.EnvVar("KGV_SOURCE_URL"),
                source_schema=dg.EnvVar("KGV_SOURCE_SCHEMA"),
            ),
            "postgres": PostgresResource(url=dg.EnvVar("KGV_PG_URL")),
        }
    )
