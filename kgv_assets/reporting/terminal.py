"""The migration report as text for the terminal (``kgv report``).

The per-table tables are ``summary.format_table``'s (the same as ``kgv summary``); around them
the verdict and its findings, the quarantine by reason, the rule outcomes and the checks.
"""

from __future__ import annotations

from kgv_assets.reporting.model import MigrationReport
from kgv_assets.reporting.summary import format_table


def _rows(head: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    """A fixed-width table sized to its content; the last column (a count) right-aligned."""
    if not rows:
        return "none"
    widths = [max(len(str(r[i])) for r in [head, *rows]) + 2 for i in range(len(head))]

    def line(cells: tuple[object, ...]) -> str:
        *first, last = (str(c) for c in cells)
        return "".join(f"{c:<{w}}" for c, w in zip(first, widths, strict=False)) + (
            f"{last:>{widths[-1]}}"
        )

    return "\n".join([line(head), "-" * sum(widths), *map(line, rows)])


def render_terminal(report: MigrationReport) -> str:
    """The report as fixed-width text, verdict first and last."""
    v = report.verdict
    out = [
        f"KGV migration report — database {report.database}, {report.generated_at}",
        f"verdict: {v.level}",
        *(f"  {f.level:<5} {f.text}" for f in v.findings),
    ]
    for title, rows, label in (
        ("legacy → staging", report.staging, "staged"),
        ("staging → target", report.target, "loaded"),
    ):
        if rows:
            out += ["", title, format_table(rows, label)]
    out += [
        "",
        "quarantined rows by reason",
        _rows(
            ("table", "stage", "reason", "rows"),
            [(r.source_table, r.stage, r.reason, r.rows) for r in report.reasons],
        ),
        "",
        "rule outcomes (loaded; value did not convert, kept raw in legacy)",
        _rows(
            ("target table", "legacy column", "target column", "rows"),
            [
                (o.target_table, o.legacy_column, ", ".join(o.target_columns) or "-", o.rows)
                for o in report.rule_outcomes
            ],
        ),
        "",
        "asset checks (latest results)",
        _rows(
            ("check", "status", "severity", "failed/partitions"),
            [
                (
                    c.key,
                    c.status,
                    c.severity or "-",
                    f"{c.partitions_failed}/{c.partitions_evaluated}",
                )
                for c in report.checks
            ],
        ),
        "",
        f"verdict: {v.level}",
    ]
    return "\n".join(out)
