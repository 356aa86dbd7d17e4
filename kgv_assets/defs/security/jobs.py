"""``gdpr_erase_job``: the erasure of one applicant (Art. 17), as ``kgv gdpr erase`` does it.

Launched from the UI or ``dagster job execute`` with the application id in the op's config
(a key, not personal data); the run's events carry the key and counts only. It runs as the
pipeline's login (the loader), which the owner's function ``audit.redact`` lets redact the
audit trail, and it takes the ``kgv/run_kind`` queue like a load: never beside one.
"""

import dagster as dg
from pydantic import Field

from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.security.erasure import erase
from kgv_assets.sync.runs import RUN_KIND_TAG


class ErasureConfig(dg.Config):
    """Which applicant to erase."""

    application_id: str = Field(description="kgv.applications.id (legacy an_ID), a uuid")


@dg.op(description="Erase one applicant's personal data and suppress it in later loads.")
def gdpr_erasure(
    context: dg.OpExecutionContext, config: ErasureConfig, postgres: PostgresResource
) -> None:
    """NULL the personal columns, redact staging, quarantine and audit; record the erasure."""
    with postgres.connection() as conn:
        done = erase(conn, config.application_id)
    context.log.info(
        "application %s erased (%s): %s",
        done.application_id,
        "first time" if done.first_time else "again",
        ", ".join(f"{place} {n}" for place, n in done.rows.items()),
    )


@dg.job(
    description=(
        "GDPR erasure of one applicant (config: application_id): personal columns of the "
        "application and its history NULL, staging, quarantine and audit rows redacted, the "
        "key recorded in migration.erasures, which later loads honour."
    ),
    tags={RUN_KIND_TAG: "gdpr_erasure"},
)
def gdpr_erase_job() -> None:
    """The erasure op alone."""
    gdpr_erasure()
