"""The verdict rules on hand-made figures: every accounting identity and every check outcome.

Pure functions, no database: each identity is broken on its own (including those the
database's CHECK constraint would refuse, as if it had been dropped), and each check status is
judged; correct figures give PASS.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from kgv_assets.reporting.model import CheckFigure, PartitionFigures
from kgv_assets.reporting.verdict import accounting_failures, judge

STAGED = PartitionFigures("Antrag", "staging.Antrag", "2019", "staging", 10, 9, 1, 9, 1)
LOADED = PartitionFigures("Antrag", "kgv.applications", "2019", "target", 10, 7, 3, 7, 3)
GOOD = [STAGED, LOADED]
PASSED = CheckFigure(
    "kgv/applications", "applications_reconciled", "passed", "ERROR", True, "r1", 1.0, 1, 0
)


def verdict(partitions: list[PartitionFigures], checks: list[CheckFigure] | None = None):
    checked, failures = accounting_failures(partitions)
    return judge(partitions, failures, checked, [PASSED] if checks is None else checks)


def test_correct_figures_pass() -> None:
    v = verdict(GOOD)
    assert v.level == "PASS"
    assert not [f for f in v.findings if f.level != "INFO"]
    assert accounting_failures(GOOD) == (7, [])


@pytest.mark.parametrize(
    ("partitions", "identity"),
    [
        # the CHECK constraint forbids this one; the report re-checks it anyway
        (
            [STAGED, replace(LOADED, loaded_rows=8, counted_loaded=8)],
            "source = loaded + quarantined",
        ),
        ([STAGED, replace(LOADED, counted_loaded=6)], "loaded rows = rows in kgv.applications"),
        ([STAGED, replace(LOADED, counted_quarantined=2)], "quarantined rows = entries in"),
        ([STAGED], "staged partition never loaded into the target"),
        ([LOADED], "loaded partition missing from staging"),
        (
            [STAGED, replace(LOADED, source_rows=11, loaded_rows=8, counted_loaded=8)],
            "target source rows = staging source rows",
        ),
        (
            [*GOOD, replace(LOADED, partition="2020", recorded=False)],
            "rows present but no reconciliation row accounts for them",
        ),
    ],
)
def test_each_broken_identity_fails(partitions: list[PartitionFigures], identity: str) -> None:
    _, failures = accounting_failures(partitions)
    assert any(f.identity.startswith(identity) for f in failures)
    v = verdict(partitions)
    assert v.level == "FAIL"
    assert any(f.level == "FAIL" and identity in f.text for f in v.findings)


def test_nothing_migrated_fails() -> None:
    assert verdict([]).level == "FAIL"


@pytest.mark.parametrize(
    ("status", "severity", "level"),
    [
        ("failed", "ERROR", "FAIL"),
        ("execution failed", None, "FAIL"),
        ("failed", "WARN", "PASS WITH WARNINGS"),
        ("pending", None, "PASS WITH WARNINGS"),
        ("never run", None, "PASS WITH WARNINGS"),
        ("skipped", None, "PASS WITH WARNINGS"),
        ("passed", "WARN", "PASS"),
    ],
)
def test_check_outcomes(status: str, severity: str | None, level: str) -> None:
    check = replace(PASSED, check_name="c", status=status, severity=severity)
    v = verdict(GOOD, [PASSED, check])
    assert v.level == level
    if level != "PASS":
        assert "kgv/applications:c" in v.findings[0].text


def test_no_checks_is_a_warning() -> None:
    assert verdict(GOOD, []).level == "PASS WITH WARNINGS"
