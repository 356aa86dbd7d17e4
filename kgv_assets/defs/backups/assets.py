"""The ``backups`` group: the pre-migration snapshot, the nightly dump and the restore tests.

``backups/pre_migration_snapshot`` runs first in every ``full_migration`` (it is upstream of
``migration/schema_migrations``): a dump of the target as it was before the run, which
``kgv migrate rollback`` restores. The other assets are the operators' backups, run by their
own jobs and schedules (``backups/jobs.py``) and left out of ``full_migration``
(``OPERATIONAL_BACKUPS``). Files go to the backup folder (``$KGV_BACKUP_DIR``, else
``$DAGSTER_HOME/backups``); metadata holds names, sizes, hashes and counts, never a row.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from kgv_assets.backup import dumps, encryption, pgbackrest, snapshots
from kgv_assets.backup.housekeeping import prune_dumps, verify_and_record
from kgv_assets.backup.locations import DUMPS, backup_directory, pgbackrest_home, pgbackrest_repo
from kgv_assets.partitions import has_partition_tags
from kgv_assets.preflight import run_preflight
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets.sync.operate import FULL_JOB, migrate_every_partition

GROUP = "backups"
SNAPSHOT_KEY = dg.AssetKey(["backups", "pre_migration_snapshot"])
DUMP_KEY = dg.AssetKey(["backups", "logical_dump"])
DUMP_VERIFICATION_KEY = dg.AssetKey(["backups", "dump_verification"])
REPOSITORY_VERIFICATION_KEY = dg.AssetKey(["backups", "repository_verification"])
OPERATIONAL_BACKUP_KEYS = (DUMP_KEY, DUMP_VERIFICATION_KEY, REPOSITORY_VERIFICATION_KEY)
"""The backups the schedules take: not part of a migration run, their check not validation's."""
OPERATIONAL_BACKUPS = dg.AssetSelection.assets(*OPERATIONAL_BACKUP_KEYS)


def _root(context: dg.AssetExecutionContext) -> Path:
    return backup_directory(context.instance.root_directory)


def _dump_metadata(stored: dumps.StoredDump) -> dict[str, Any]:
    m = stored.manifest
    return {
        "name": m.name,
        "path": dg.MetadataValue.path(str(stored.file)),
        "size_bytes": m.size,
        "sha256": m.sha256,
        "tables": len(m.tables),
        "rows": sum(t.rows or 0 for t in m.tables.values()),
        "seconds": m.seconds,
        "encrypted": m.encrypted,
        "server_version": m.server_version,
    }


@dg.asset(
    key=SNAPSHOT_KEY,
    group_name=GROUP,
    kinds={"postgres"},
    description=(
        "The target as it was before this migration run: a logical dump of the schemas "
        "staging, kgv, migration and audit (with a manifest of every table's row count and "
        "content hash) plus, when WAL archiving is on, a named restore point. `kgv migrate "
        "rollback` restores it. Skipped on an empty target; the newest five are kept. "
        "First, the preflight checks (kgv preflight); in a full_migration run without "
        "partition tags it runs full_migration over every partition instead (see kgv_assets/"
        "sync/operate.py)."
    ),
    output_required=False,  # not materialized by a run without partition tags (it delegates)
)
def pre_migration_snapshot(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    legacy_source: LegacySourceResource,
) -> Iterator[dg.MaterializeResult]:
    """Snapshot the target before the migration changes it (after the preflight checks)."""
    # Issue 13: the first step of full_migration checks everything before anything is
    # written, and turns a run without partition tags into one over every partition.
    run_preflight(context, legacy_source, postgres.url)
    if context.run.job_name == FULL_JOB and not has_partition_tags(context.run.tags):
        migrate_every_partition(context, legacy_source)
        return  # nothing materialized in this run: its other steps are skipped, not failed
    result = snapshots.take_snapshot(
        postgres.url,
        _root(context),
        context.run.run_id,
        recipients=encryption.recipients_from_env(),
    )
    if result.stored is None:
        context.log.info("pre-migration snapshot skipped: %s", result.reason)
        yield dg.MaterializeResult(metadata={"taken": False, "reason": result.reason})
        return
    if result.warning:
        context.log.warning(result.warning)
    context.log.info(
        "pre-migration snapshot %s: %d bytes in %.1f s",
        result.stored.name,
        result.stored.manifest.size,
        result.stored.manifest.seconds,
    )
    yield dg.MaterializeResult(
        metadata={  # type: ignore[arg-type]  # numbers and strings
            "taken": True,
            **_dump_metadata(result.stored),
            "restore_point": result.restore_point or "none (WAL archiving is off)",
            "snapshots_pruned": len(result.pruned),
        }
    )


@dg.asset(
    key=DUMP_KEY,
    group_name=GROUP,
    kinds={"postgres"},
    description=(
        "The nightly logical dump of the schemas kgv, migration and audit (pg_dump custom "
        "format, encrypted with age when KGV_BACKUP_AGE_RECIPIENT is set) with its manifest and "
        "the roles it needs; then the retention policy prunes the older dumps (daily 30 days, "
        "weekly 12 weeks, monthly 12 months, archive-tagged forever)."
    ),
)
def logical_dump(
    context: dg.AssetExecutionContext, postgres: PostgresResource
) -> dg.MaterializeResult:
    """Dump, then prune."""
    folder = _root(context) / DUMPS
    stored = dumps.take_dump(
        postgres.url, folder, "full", recipients=encryption.recipients_from_env()
    )
    decisions = prune_dumps(folder, datetime.now(UTC))
    pruned = [d.copy.name for d in decisions if not d.keep]
    context.log.info("dump %s; pruned %d older dumps", stored.name, len(pruned))
    return dg.MaterializeResult(
        metadata={  # type: ignore[arg-type]  # numbers and strings
            **_dump_metadata(stored),
            "dumps_kept": len(decisions) - len(pruned),
            "dumps_pruned": len(pruned),
        }
    )


@dg.asset(
    key=DUMP_VERIFICATION_KEY,
    group_name=GROUP,
    kinds={"postgres"},
    deps=[DUMP_KEY],
    description=(
        "The restore test of the newest dump: its SHA-256 against the manifest, then a restore "
        "into a freshly initialised private PostgreSQL cluster with the roles replayed, and "
        "every table's row count and content hash compared with the manifest. The result is "
        "kept beside the dump; the check newest_backup_verified judges it."
    ),
)
def dump_verification(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Restore-test the newest dump (a failed test is recorded, and the check fails)."""
    found = dumps.catalogue(_root(context) / DUMPS)
    if not found:
        raise dg.Failure(description="no dump to verify: materialize backups/logical_dump first")
    stored = found[0]
    try:
        result = verify_and_record(stored)
    except dumps.ChecksumMismatchError as err:
        context.log.error(str(err))
        return dg.MaterializeResult(metadata={"name": stored.name, "ok": False})
    for problem in result.problems:
        context.log.error("%s: %s", stored.name, problem)
    return dg.MaterializeResult(
        metadata={  # type: ignore[arg-type]  # numbers and strings
            "name": stored.name,
            "ok": result.ok,
            "tables": result.tables,
            "rows": result.rows,
            "seconds": result.seconds,
            "problems": len(result.problems),
        }
    )


@dg.asset(
    key=REPOSITORY_VERIFICATION_KEY,
    group_name=GROUP,
    kinds={"postgres"},
    description=(
        "`pgbackrest verify` of the physical repository (stanza kgv): every backup file and "
        "WAL segment against its checksum. Fails naming the invalid files. Without pgBackRest "
        "set up (`kgv backup physical setup`) it says so and verifies nothing."
    ),
)
def repository_verification(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Verify the pgBackRest repository."""
    root = _root(context)
    pb = pgbackrest.PgBackRest(pgbackrest_home(root), pgbackrest_repo(root))
    if not pb.configured():
        context.log.warning("pgBackRest is not set up: nothing to verify")
        return dg.MaterializeResult(metadata={"configured": False})
    result = pb.verify()
    if not result.ok:
        raise dg.Failure(
            description="pgbackrest verify found invalid files: "
            + (", ".join(result.bad_files) or result.output.splitlines()[0]),
        )
    return dg.MaterializeResult(
        metadata={  # type: ignore[arg-type]  # numbers and strings
            "configured": True,
            "backups": len(pb.backups()),
            "report": dg.MetadataValue.md(f"```\n{result.output}\n```"),
        }
    )
