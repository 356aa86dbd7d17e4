"""Binds the resources to environment variables, read when a run starts (never at import)."""

import dagster as dg

from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource


@dg.definitions
def resources() -> dg.Definitions:
    """The legacy source (KGV_SOURCE_URL) and the target (KGV_PG_URL).

    KGV_SOURCE_SCHEMA is optional and read by the resource itself (``schema_name``): an unset
    variable bound with ``EnvVar`` would fail every run with a config error.
    """
    return dg.Definitions(
        resources={
            "legacy_source": LegacySourceResource(url=dg.EnvVar("KGV_SOURCE_URL")),
            "postgres": PostgresResource(url=dg.EnvVar("KGV_PG_URL")),
        }
    )
