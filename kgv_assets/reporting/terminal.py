"""The migration report as text for the terminal (``kgv report``).

The per-table tables are ``summary.format_table``'s (the same as ``kgv summary``); around them
the verdict and its findings, the quarantine by reason, the rule outcomes and the checks.
"""

from __future__ import annotations

from kgv_assets.reporting.model import MigrationReport
from kgv_assets.reporting.summary import format_table


def _rows(head: tuple[str, ...], rows: list[tuple[object, ...]], widths: tuple[int, ...]) -> str:
    def line(cells: tuple[object, ...]) -> str:
        return "".join(
            f"{c!s:<{w}}" if i < len(widths) - 1 else f"{c!s:>{w}}"
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "-" * sum(widths)
    return "\n".join([line(head), rule, *map(line, rows)]) if rows else "none"


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
            (26, 11, 60, 8),
        ),
        "",
        "rule outcomes (loaded; value did not convert, kept raw in legacy)",
        _rows(
            ("target table", "legacy column", "target column", "rows"),
            [
                (o.target_table, o.legacy_column, ", ".join(o.target_columns) or "-", o.rows)
                for o in report.rule_outcomes
            ],
            (30, 26, 22, 8),
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
            (62, 18, 10, 18),
        ),
        "",
        f"verdict: {v.level}",
    ]
    return "\n".join(out)
