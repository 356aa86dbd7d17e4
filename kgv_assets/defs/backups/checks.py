"""The asset check on the restore tests: is there a recent, verified backup?

ERROR (blocking: the backup job's run fails, so the failure is seen) when the newest dump
whose restore test passed is more than 26 hours old — the nightly dump plus two hours — or
when the most recent restore test failed. It sits on ``backups/dump_verification`` beside the
data-quality checks in the UI; the migration report leaves it out (it judges the migration's
data, not the operators' backups).
"""

from datetime import UTC, datetime

import dagster as dg

from kgv_assets.backup.housekeeping import MAX_VERIFIED_AGE, backup_status
from kgv_assets.backup.locations import DUMPS, backup_directory
from kgv_assets.defs.backups.assets import DUMP_VERIFICATION_KEY


@dg.asset_check(
    asset=DUMP_VERIFICATION_KEY,
    name="newest_backup_verified",
    blocking=True,
    description=(
        "ERROR when the newest dump whose restore test passed is more than 26 hours old, or "
        "when the last restore test failed."
    ),
)
def newest_backup_verified(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """Judge the restore tests recorded beside the dumps."""
    now = datetime.now(UTC)
    status = backup_status(backup_directory(context.instance.root_directory) / DUMPS)
    passed, why = status.judge(now)
    age = status.verified_age(now)
    last = status.last_tested
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=why,
        metadata={
            "dumps": status.dumps,
            "newest_verified": status.newest_verified.name if status.newest_verified else "none",
            "newest_verified_age_hours": round(age.total_seconds() / 3600, 2) if age else -1.0,
            "max_age_hours": MAX_VERIFIED_AGE.total_seconds() / 3600,
            "last_test_passed": bool(last and last.verified_ok),
        },
    )
