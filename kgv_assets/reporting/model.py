"""The migration report as data: what was counted, what was checked, what it adds up to.

Every field is a key, a count, a duration, a reason or a rule — never a legacy value: the
legacy rows are personal data, so the report is built from figures only (the quarantined raw
rows are never read). ``collect`` fills these classes, ``verdict`` judges them, ``html``,
``json_report`` and ``terminal`` render them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kgv_assets.reporting.summary import SummaryRow

Level = Literal["PASS", "PASS WITH WARNINGS", "FAIL"]
FindingLevel = Literal["FAIL", "WARN", "INFO"]

CHECK_STATUSES = ("passed", "failed", "execution failed", "skipped", "pending", "never run")
"""What the latest record of an asset check says (see ``check_results``)."""


@dataclass(frozen=True)
class PartitionFigures:
    """One legacy table, partition and stage: the recorded accounting beside a recount.

    ``recorded`` is False when a table holds rows of a partition that
    ``migration.reconciliation`` has no row for (then the recorded counts are 0).
    """

    source_table: str
    target_table: str
    partition: str
    stage: str
    source_rows: int
    loaded_rows: int
    quarantined_rows: int
    counted_loaded: int
    """Rows of this partition in the stage's table now (staging."<Table>" or kgv.<table>)."""
    counted_quarantined: int
    """Entries of this partition in migration.rejected_rows now (for the stage and before)."""
    recorded: bool = True


@dataclass(frozen=True)
class ReasonCount:
    """Quarantined rows of one legacy table with one reason (a row counts once per reason)."""

    source_table: str
    stage: str
    reason: str
    rows: int


@dataclass(frozen=True)
class RuleOutcome:
    """Loaded rows whose legacy value of ``legacy_column`` did not convert.

    The target columns are NULL (or hold the documented default) and the raw value is kept
    in the row's ``legacy`` jsonb column; the row itself was loaded.
    """

    target_table: str
    legacy_column: str
    target_columns: tuple[str, ...]
    rule: str
    rows: int


@dataclass(frozen=True)
class CheckFigure:
    """The latest recorded result of one asset check (numeric metadata only)."""

    asset_key: str
    check_name: str
    status: str
    """One of ``CHECK_STATUSES``."""
    severity: str | None
    """ERROR or WARN as the check reported it (None until it has been evaluated)."""
    blocking: bool
    run_id: str | None
    evaluated_at: float | None
    partitions_evaluated: int = 0
    partitions_failed: int = 0
    metadata: dict[str, float] = field(default_factory=dict)
    """The check's numeric metadata (counts, percentages); summed over partitions when the
    check is partitioned (percentages are then left out)."""

    @property
    def key(self) -> str:
        """``asset/key:check_name``, as Dagster prints check keys."""
        return f"{self.asset_key}:{self.check_name}"


@dataclass(frozen=True)
class AccountingFailure:
    """An accounting identity that does not hold for one table, partition and stage."""

    source_table: str
    partition: str
    stage: str
    identity: str
    expected: int
    actual: int

    @property
    def message(self) -> str:
        """The failure in one line (counts only)."""
        return (
            f"{self.source_table} [{self.partition}] {self.stage}: {self.identity} "
            f"(expected {self.expected}, found {self.actual})"
        )


@dataclass(frozen=True)
class Finding:
    """One line of the verdict's reasoning."""

    level: FindingLevel
    text: str


@dataclass(frozen=True)
class Verdict:
    """PASS / PASS WITH WARNINGS / FAIL and why."""

    level: Level
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        """True for FAIL."""
        return self.level == "FAIL"


@dataclass(frozen=True)
class MigrationReport:
    """Everything the report shows, in the order it shows it."""

    generated_at: str
    """ISO 8601 UTC time the figures were read."""
    run_id: str | None
    """The Dagster run that wrote the report (None when ``kgv report`` computed it)."""
    database: str
    """The target database's name (never its credentials)."""
    staging: list[SummaryRow]
    target: list[SummaryRow]
    partitions: list[PartitionFigures]
    reasons: list[ReasonCount]
    rule_outcomes: list[RuleOutcome]
    checks: list[CheckFigure]
    identities_checked: int
    accounting_failures: list[AccountingFailure]
    verdict: Verdict
    notes: tuple[str, ...] = ()

    @property
    def source_rows(self) -> int:
        """Legacy rows read (staging stage)."""
        return sum(r.source_rows for r in self.staging)

    @property
    def loaded_rows(self) -> int:
        """Rows in the target tables (target stage)."""
        return sum(r.loaded_rows for r in self.target)

    @property
    def quarantined_rows(self) -> int:
        """Legacy rows in quarantine (any stage; target-stage accounting)."""
        return sum(r.quarantined_rows for r in self.target)
