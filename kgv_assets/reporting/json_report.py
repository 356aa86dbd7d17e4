"""The migration report as JSON: a stable, versioned document for machines (and diffing).

The shape is fixed by ``SCHEMA_VERSION``: fields are only ever added with a new version, and a
test pins every key. Counts are integers, durations seconds (float), times ISO 8601 UTC.
"""

from __future__ import annotations

import json
from typing import Any

from kgv_assets.reporting.model import MigrationReport
from kgv_assets.reporting.summary import SummaryRow

SCHEMA_VERSION = 1


def _table(r: SummaryRow) -> dict[str, Any]:
    return {
        "source_table": r.source_table,
        "target_table": r.target_table,
        "partitions": r.partitions,
        "source_rows": r.source_rows,
        "loaded_rows": r.loaded_rows,
        "quarantined_rows": r.quarantined_rows,
        "seconds": round(r.seconds, 3),
        "rows_per_second": round(r.rows_per_second, 1),
    }


def to_dict(report: MigrationReport) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": report.generated_at,
        "run_id": report.run_id,
        "database": report.database,
        "verdict": {
            "level": report.verdict.level,
            "findings": [{"level": f.level, "text": f.text} for f in report.verdict.findings],
        },
        "totals": {
            "source_rows": report.source_rows,
            "loaded_rows": report.loaded_rows,
            "quarantined_rows": report.quarantined_rows,
            "staging_seconds": round(sum(r.seconds for r in report.staging), 3),
            "target_seconds": round(sum(r.seconds for r in report.target), 3),
        },
        "tables": {
            "staging": list(map(_table, report.staging)),
            "target": list(map(_table, report.target)),
        },
        "partitions": [
            {
                "source_table": p.source_table,
                "target_table": p.target_table,
                "partition": p.partition,
                "stage": p.stage,
                "recorded": p.recorded,
                "source_rows": p.source_rows,
                "loaded_rows": p.loaded_rows,
                "quarantined_rows": p.quarantined_rows,
                "counted_loaded": p.counted_loaded,
                "counted_quarantined": p.counted_quarantined,
            }
            for p in report.partitions
        ],
        "accounting": {
            "identities_checked": report.identities_checked,
            "failures": [
                {
                    "source_table": f.source_table,
                    "partition": f.partition,
                    "stage": f.stage,
                    "identity": f.identity,
                    "expected": f.expected,
                    "actual": f.actual,
                }
                for f in report.accounting_failures
            ],
        },
        "quarantine_reasons": [
            {"source_table": r.source_table, "stage": r.stage, "reason": r.reason, "rows": r.rows}
            for r in report.reasons
        ],
        "rule_outcomes": [
            {
                "target_table": o.target_table,
                "legacy_column": o.legacy_column,
                "target_columns": list(o.target_columns),
                "rule": o.rule,
                "rows": o.rows,
            }
            for o in report.rule_outcomes
        ],
        "checks": [
            {
                "asset_key": c.asset_key,
                "check_name": c.check_name,
                "status": c.status,
                "severity": c.severity,
                "blocking": c.blocking,
                "run_id": c.run_id,
                "evaluated_at": c.evaluated_at,
                "partitions_evaluated": c.partitions_evaluated,
                "partitions_failed": c.partitions_failed,
                "metadata": c.metadata,
            }
            for c in report.checks
        ],
        "notes": list(report.notes),
    }


def dumps(report: MigrationReport) -> str:
    """The report as an indented JSON document."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
