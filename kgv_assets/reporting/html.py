"""The migration report as one self-contained HTML page (inline CSS and SVG, no external assets).

Readable offline and printable: verdict and findings first, then the accounting per table, the
quarantine by reason and table (bar charts), the rule outcomes, the data-quality checks and the
full per-partition accounting. Every text is escaped; there is nothing in the report but keys,
counts, reasons and rules (see ``model``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape

from kgv_assets.reporting.model import CheckFigure, MigrationReport, PartitionFigures
from kgv_assets.reporting.summary import SummaryRow

COLOURS = {"PASS": "#1a7f37", "PASS WITH WARNINGS": "#9a6700", "FAIL": "#cf222e"}
STATUS_COLOURS = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "execution failed": "#cf222e",
    "skipped": "#9a6700",
    "pending": "#9a6700",
    "never run": "#57606a",
}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;margin:0;
 background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:24px}h2{margin:32px 0 8px;font-size:18px;border-bottom:1px solid
 #d0d7de;padding-bottom:4px}
.meta{color:#57606a}.verdict{display:inline-block;color:#fff;font-weight:700;padding:6px 14px;
 border-radius:6px;font-size:18px;margin:12px 0}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #d0d7de;
 border-radius:6px;padding:10px 14px;min-width:150px}.card b{display:block;font-size:20px}
table{border-collapse:collapse;background:#fff;width:100%;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2}td.n{text-align:right;font-variant-numeric:tabular-nums}
.FAIL{color:#cf222e;font-weight:600}.WARN{color:#9a6700;font-weight:600}.INFO{color:#57606a}
.pill{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px}
svg{background:#fff;border:1px solid #d0d7de;border-radius:6px;max-width:100%;
 height:auto}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}
details summary{cursor:pointer;margin:8px 0}.bad{background:#ffebe9}
@media print{body{background:#fff}details{display:block}}
"""


def _ident(text: str) -> str:
    """An escaped identifier that may wrap after ``_``, ``/`` and ``:`` (long check names)."""
    return re.sub(r"([_/:])", r"\1<wbr>", escape(text))


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_n(v) if isinstance(v, int | float) else escape(str(v))}</td>'
            if i in numeric
            else f"<td>{escape(str(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bar_chart(items: Sequence[tuple[str, int]], colour: str) -> str:
    """A horizontal bar chart as inline SVG (label, bar scaled to the largest value, count)."""
    if not items:
        return "<p>None.</p>"
    row, bar_max = 22, 380
    label_width = min(600, 12 + 7 * max(len(label) for label, _ in items))
    top = max(n for _, n in items) or 1
    width = label_width + bar_max + 80
    height = row * len(items) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img">'
    ]
    for i, (label, n) in enumerate(items):
        y = 4 + i * row
        w = max(1, round(bar_max * n / top))
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w}" height="{row - 6}" rx="2"'
            f' fill="{colour}"/>'
            f'<text x="{label_width + w + 6}" y="{y + 15}">{_n(n)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _stage_table(rows: Sequence[SummaryRow], loaded: str) -> str:
    return _table(
        ["table", "→", "partitions", "source", loaded, "quarantined", "seconds", "rows/s"],
        (
            [
                r.source_table,
                r.target_table,
                r.partitions,
                r.source_rows,
                r.loaded_rows,
                r.quarantined_rows,
                f"{r.seconds:.2f}",
                r.rows_per_second,
            ]
            for r in rows
        ),
        {2, 3, 4, 5, 6, 7},
    )


def _status(c: CheckFigure) -> str:
    colour = STATUS_COLOURS.get(c.status, "#57606a")
    return f'<span class="pill" style="background:{colour}">{escape(c.status)}</span>'


def _checks(checks: Sequence[CheckFigure]) -> str:
    if not checks:
        return "<p>No asset checks are defined.</p>"
    rows = []
    for c in checks:
        when = (
            datetime.fromtimestamp(c.evaluated_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if c.evaluated_at
            else "—"
        )
        figures = ", ".join(f"{k} = {v:g}" for k, v in c.metadata.items()) or "—"
        parts = (
            f"{c.partitions_failed} / {c.partitions_evaluated}" if c.partitions_evaluated else "—"
        )
        rows.append(
            "<tr>"
            f"<td>{_ident(c.asset_key)}</td><td>{_ident(c.check_name)}</td><td>{_status(c)}</td>"
            f"<td>{escape(c.severity or '—')}</td><td>{'yes' if c.blocking else 'no'}</td>"
            f'<td class="n">{parts}</td><td>{_ident(figures)}</td><td>{when}</td>'
            f"<td>{escape((c.run_id or '—')[:8])}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "asset",
            "check",
            "status",
            "severity",
            "blocking",
            "partitions failed / evaluated",
            "figures",
            "evaluated",
            "run",
        )
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _partitions(partitions: Sequence[PartitionFigures], bad: set[tuple[str, str, str]]) -> str:
    rows = []
    for p in partitions:
        key = (p.source_table, p.partition, p.stage)
        cells = [
            p.source_table,
            p.partition,
            p.stage,
            p.source_rows,
            p.loaded_rows,
            p.quarantined_rows,
            p.counted_loaded,
            p.counted_quarantined,
        ]
        tds = "".join(
            f'<td class="n">{_n(v)}</td>' if isinstance(v, int) else f"<td>{escape(v)}</td>"
            for v in cells
        )
        rows.append(f'<tr class="{"bad" if key in bad else ""}">{tds}</tr>')
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "table",
            "partition",
            "stage",
            "source",
            "loaded",
            "quarantined",
            "rows in table now",
            "in quarantine now",
        )
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(report: MigrationReport) -> str:
    """The whole report as one HTML document."""
    v = report.verdict
    findings = "".join(
        f'<li><span class="{f.level}">{f.level}</span> {escape(f.text)}</li>' for f in v.findings
    )
    by_table: dict[str, int] = defaultdict(int)
    for r in report.target:
        by_table[r.source_table] += r.quarantined_rows
    table_bars = bar_chart(
        sorted(((t, n) for t, n in by_table.items() if n), key=lambda x: -x[1]), "#bc4c00"
    )
    reason_bars = bar_chart(
        [(f"{r.source_table} · {r.reason}", r.rows) for r in report.reasons], "#cf222e"
    )
    rule_bars = bar_chart(
        [(f"{o.target_table} · {o.legacy_column}", o.rows) for o in report.rule_outcomes],
        "#0969da",
    )
    meta = (
        f"database <b>{escape(report.database)}</b> · generated {escape(report.generated_at)}"
        f" · run {escape(report.run_id or '— (kgv report)')}"
    )
    passed = sum(c.status == "passed" for c in report.checks)
    failed = sum(c.status in ("failed", "execution failed") for c in report.checks)
    bad = {(f.source_table, f.partition, f.stage) for f in report.accounting_failures}
    accounting = (
        _table(
            ["table", "partition", "stage", "identity", "expected", "found"],
            (
                [f.source_table, f.partition, f.stage, f.identity, f.expected, f.actual]
                for f in report.accounting_failures
            ),
            {4, 5},
        )
        if report.accounting_failures
        else f"<p>All {report.identities_checked:,} accounting identities hold.</p>"
    )
    cards = "".join(
        f'<div class="card">{escape(label)}<b>{value}</b></div>'
        for label, value in (
            ("legacy rows read", _n(report.source_rows)),
            ("loaded into the target", _n(report.loaded_rows)),
            ("quarantined", _n(report.quarantined_rows)),
            (
                "accounting identities hold",
                f"{report.identities_checked - len(report.accounting_failures):,}"
                f" of {report.identities_checked:,}",
            ),
            ("asset checks", f"{passed} passed · {failed} failed of {len(report.checks)}"),
        )
    )
    outcomes = _table(
        ["target table", "legacy column", "target column", "rule", "rows"],
        (
            [o.target_table, o.legacy_column, ", ".join(o.target_columns) or "—", o.rule, o.rows]
            for o in report.rule_outcomes
        ),
        {4},
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KGV migration report — {escape(v.level)}</title><style>{CSS}</style></head>
<body><main>
<h1>KGV migration report</h1>
<div class="meta">{meta}</div>
<div class="verdict" style="background:{COLOURS[v.level]}">{escape(v.level)}</div>
<ul>{findings}</ul>
<div class="cards">{cards}</div>
<h2>Legacy → staging</h2>{_stage_table(report.staging, "staged")}
<h2>Staging → target</h2>{_stage_table(report.target, "loaded")}
<h2>Quarantined rows by table</h2>{table_bars}
<h2>Quarantined rows by reason and table</h2>{reason_bars}
<h2>Rule outcomes: values kept raw in <code>legacy</code></h2>
{rule_bars}
{outcomes}
<h2>Data quality: asset checks</h2>{_checks(report.checks)}
<h2>Accounting identities</h2>{accounting}
<details><summary>Per table and partition ({len(report.partitions)} rows)</summary>
{_partitions(report.partitions, bad)}</details>
<h2>Notes</h2><ul>{notes}</ul>
</main></body></html>
"""
