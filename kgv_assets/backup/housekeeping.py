"""What the commands and the Dagster assets share about dumps.

Restore tests kept on record beside each dump, pruning by the retention policy, and the state
the asset check ``newest_backup_verified`` judges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kgv_assets.backup import dumps, retention

MAX_VERIFIED_AGE = timedelta(hours=26)
"""The newest verified dump may be this old: the nightly dump plus two hours."""


def copies(stored: list[dumps.StoredDump]) -> list[retention.Copy]:
    """The dumps as the retention policy sees them."""
    return [
        retention.Copy(
            d.name,
            d.manifest.created,
            archive=retention.ARCHIVE_TAG in d.manifest.tags,
            verified=d.verified_ok,
        )
        for d in stored
    ]


def prune_dumps(folder: Path, now: datetime, dry_run: bool = False) -> list[retention.Decision]:
    """Apply the retention policy to the dumps in ``folder``; return the decisions."""
    found = {d.name: d for d in dumps.catalogue(folder)}
    decisions = retention.decide(copies(list(found.values())), now)
    if not dry_run:
        for decision in decisions:
            if not decision.keep:
                dumps.remove(found[decision.copy.name])
    return decisions


def verify_and_record(stored: dumps.StoredDump, with_roles: bool = True) -> dumps.Verification:
    """Restore-test ``stored`` and keep the result beside it (a damaged file is a failure).

    A test without the roles replayed (``with_roles=False``) is a diagnosis, not a verdict on
    the dump: it is not recorded.

    Raises:
        dumps.DumpError: the test could not run to the end (recorded when the files were bad).
    """
    try:
        result = dumps.verify_dump(stored, with_roles=with_roles)
    except dumps.ChecksumMismatchError as err:
        failed = dumps.Verification(
            datetime.now(UTC).isoformat(timespec="seconds"), False, 0.0, 0, 0, [str(err)]
        )
        dumps.record_verification(stored, failed)
        raise
    if with_roles:
        dumps.record_verification(stored, result)
    return result


@dataclass(frozen=True)
class BackupStatus:
    """The dumps as the check sees them."""

    dumps: int
    newest_verified: dumps.StoredDump | None
    """The newest dump whose last restore test passed."""
    last_tested: dumps.StoredDump | None
    """The dump restore-tested most recently (whatever the result)."""

    def verified_age(self, now: datetime) -> timedelta | None:
        """How old the data of the newest verified dump is."""
        if self.newest_verified is None:
            return None
        return now - self.newest_verified.manifest.created

    def judge(self, now: datetime, max_age: timedelta = MAX_VERIFIED_AGE) -> tuple[bool, str]:
        """(passed, why): a verified dump at most ``max_age`` old, and the last test passed."""
        last = self.last_tested
        if last is not None and last.verification is not None and not last.verification.ok:
            detail = (last.verification.problems or ["failed"])[0]
            return False, f"the last restore test ({last.name}) failed: {detail}"
        age = self.verified_age(now)
        if age is None or self.newest_verified is None:
            return False, f"no verified dump among {self.dumps}"
        hours = age.total_seconds() / 3600
        if age > max_age:
            limit = max_age.total_seconds() / 3600
            return False, (
                f"the newest verified dump ({self.newest_verified.name}) is {hours:.1f} h old "
                f"(more than {limit:.0f} h)"
            )
        return True, f"{self.newest_verified.name} verified, {hours:.1f} h old"


def backup_status(folder: Path) -> BackupStatus:
    """The state of the dumps in ``folder``."""
    found = dumps.catalogue(folder)
    verified = [d for d in found if d.verified_ok]
    tested = [d for d in found if d.verification is not None]
    last = max(tested, key=lambda d: d.verification.verified_at) if tested else None  # type: ignore[union-attr]
    return BackupStatus(len(found), verified[0] if verified else None, last)
