"""The verdict of the migration report: the accounting identities and the checks, judged.

FAIL when an accounting identity does not hold (rows lost, invented or not accounted for), when
an asset check of severity ERROR failed, or when a check could not run at all; PASS WITH
WARNINGS when a WARN check failed or a check has no result yet; PASS otherwise. Quarantined
rows alone do not fail the migration: each is accounted for with its reasons (the report lists
them for review).

The identities, per legacy table and partition, recomputed from the figures (the database's
CHECK constraint only guards the first, and only for rows written since it exists):

* each stage: source rows = loaded rows + quarantined rows;
* each stage: loaded rows = the rows of the partition in the stage's table now;
* each stage: quarantined rows = the partition's entries in ``migration.rejected_rows`` now;
* the target stage read exactly the rows the staging stage read (and every staged partition
  was loaded into the target).
"""

from __future__ import annotations

from collections.abc import Sequence

from kgv_assets.reporting.model import (
    AccountingFailure,
    CheckFigure,
    Finding,
    Level,
    PartitionFigures,
    Verdict,
)


def _partition_failures(p: PartitionFigures) -> list[AccountingFailure]:
    def fail(identity: str, expected: int, actual: int) -> AccountingFailure:
        return AccountingFailure(p.source_table, p.partition, p.stage, identity, expected, actual)

    if not p.recorded:
        return [
            fail(
                "rows present but no reconciliation row accounts for them",
                0,
                p.counted_loaded + p.counted_quarantined,
            )
        ]
    out = []
    if p.source_rows != p.loaded_rows + p.quarantined_rows:
        out.append(
            fail("source = loaded + quarantined", p.source_rows, p.loaded_rows + p.quarantined_rows)
        )
    if p.loaded_rows != p.counted_loaded:
        out.append(fail(f"loaded rows = rows in {p.target_table}", p.loaded_rows, p.counted_loaded))
    if p.quarantined_rows != p.counted_quarantined:
        out.append(
            fail(
                "quarantined rows = entries in migration.rejected_rows",
                p.quarantined_rows,
                p.counted_quarantined,
            )
        )
    return out


def accounting_failures(
    partitions: Sequence[PartitionFigures],
) -> tuple[int, list[AccountingFailure]]:
    """The identities checked and those that fail (see the module docstring)."""
    failures: list[AccountingFailure] = []
    checked = 0
    for p in partitions:
        checked += 1 if not p.recorded else 3
        failures.extend(_partition_failures(p))
    staged = {(p.source_table, p.partition): p for p in partitions if p.stage == "staging"}
    loaded = {(p.source_table, p.partition): p for p in partitions if p.stage == "target"}
    for key in sorted(staged.keys() | loaded.keys()):
        checked += 1
        before, after = staged.get(key), loaded.get(key)
        if after is None and before is not None:
            failures.append(
                AccountingFailure(
                    *key,
                    "target",
                    "staged partition never loaded into the target",
                    before.source_rows,
                    0,
                )
            )
        elif before is None and after is not None:
            failures.append(
                AccountingFailure(
                    *key, "staging", "loaded partition missing from staging", after.source_rows, 0
                )
            )
        elif before and after and before.recorded and after.recorded:
            if before.source_rows != after.source_rows:
                failures.append(
                    AccountingFailure(
                        *key,
                        "target",
                        "target source rows = staging source rows",
                        before.source_rows,
                        after.source_rows,
                    )
                )
    return checked, failures


def _check_finding(c: CheckFigure) -> Finding | None:
    where = (
        f" in {c.partitions_failed} of {c.partitions_evaluated} partitions"
        if c.partitions_evaluated > 1
        else ""
    )
    if c.status == "failed":
        level = "FAIL" if c.severity == "ERROR" else "WARN"
        return Finding(level, f"check {c.key} failed ({c.severity}){where}")
    if c.status == "execution failed":
        return Finding("FAIL", f"check {c.key} could not run (its run failed): nothing proven")
    if c.status in ("pending", "never run", "skipped"):
        return Finding("WARN", f"check {c.key} has no result yet ({c.status})")
    return None


def judge(
    partitions: Sequence[PartitionFigures],
    failures: Sequence[AccountingFailure],
    identities_checked: int,
    checks: Sequence[CheckFigure],
) -> Verdict:
    """The verdict and the findings behind it, worst first."""
    findings: list[Finding] = []
    if not partitions:
        findings.append(Finding("FAIL", "migration.reconciliation is empty: nothing migrated"))
    findings.extend(Finding("FAIL", f.message) for f in failures)
    if partitions and not failures:
        tables = len({p.source_table for p in partitions})
        findings.append(
            Finding(
                "INFO", f"all {identities_checked} accounting identities hold ({tables} tables)"
            )
        )
    findings.extend(f for f in map(_check_finding, checks) if f is not None)
    if not checks:
        findings.append(Finding("WARN", "no asset checks are defined: data quality unproven"))
    else:
        passed = sum(c.status == "passed" for c in checks)
        findings.append(Finding("INFO", f"{passed} of {len(checks)} asset checks passed"))
    target = [p for p in partitions if p.stage == "target"]
    source = sum(p.source_rows for p in target)
    quarantined = sum(p.quarantined_rows for p in target)
    if source:
        findings.append(
            Finding(
                "INFO",
                f"{quarantined} of {source} legacy rows ({quarantined / source:.2%}) are in "
                "quarantine with their reasons: review them before cut-over",
            )
        )
    order = {"FAIL": 0, "WARN": 1, "INFO": 2}
    findings.sort(key=lambda f: order[f.level])
    level: Level = "PASS"
    if any(f.level == "FAIL" for f in findings):
        level = "FAIL"
    elif any(f.level == "WARN" for f in findings):
        level = "PASS WITH WARNINGS"
    return Verdict(level, tuple(findings))
