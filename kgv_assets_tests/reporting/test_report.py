"""The migration report after a real full migration: figures, checks, verdict, files, privacy, CLI.

One ``full_migration`` run per module (demo source, scale 0.02) into a fresh PostgreSQL
database, on a test instance, with three small real asset checks added to the definitions (one
passes, one WARN check fails on the planted dirt, one runs after the report) so the data-quality
figures have something to show whatever checks the project defines. Every figure of the report is
compared with counts queried independently (from the SQLite source, the target tables and the
quarantine); the accounting is then broken on purpose in copies of the database (a target row
deleted, a reconciliation row altered within its CHECK constraint) and the verdict must be FAIL,
in the report and as the exit code of ``kgv report``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import LiteralString

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from kgv_assets.cli import main
from kgv_assets.definitions import defs
from kgv_assets.layout import LOADED_TABLES
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.demo_data import KNOWN_APPLICANT
from kgv_assets.partitions import all_partitions_tags, register_partition_keys
from kgv_assets.reporting.check_results import check_specs
from kgv_assets.reporting.collect import build_report
from kgv_assets.reporting.html import render_html
from kgv_assets.reporting.json_report import SCHEMA_VERSION, dumps, to_dict
from kgv_assets.reporting.model import MigrationReport
from kgv_assets.reporting.terminal import render_terminal
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.resources.postgres import PostgresResource
from kgv_assets_tests.conftest import (
    copy_database,
    create_database,
    drop_database,
    loaded_and_quarantined,
    scalar,
)

pytestmark = pytest.mark.slow
REPORT_KEY = dg.AssetKey(["migration", "report"])
TARGET_OF = {t.legacy.name: t.name for t in LOADED_TABLES}


def _scalar(postgres: PostgresResource, query: LiteralString) -> int:
    with postgres.connection() as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


@dg.asset_check(asset=dg.AssetKey(["kgv", "districts"]))
def districts_present(postgres: PostgresResource) -> dg.AssetCheckResult:
    """Test check: the districts table is not empty."""
    n = _scalar(postgres, "SELECT count(*) FROM kgv.districts")
    return dg.AssetCheckResult(passed=n > 0, metadata={"rows": n, "share_checked": 1.0})


@dg.asset_check(asset=dg.AssetKey(["kgv", "applications"]))
def birthdays_all_converted(postgres: PostgresResource) -> dg.AssetCheckResult:
    """Test check (WARN): every birthday converted — the demo plants unreadable ones."""
    n = _scalar(postgres, "SELECT count(*) FROM kgv.applications WHERE legacy ? 'an_Geburtstag'")
    return dg.AssetCheckResult(
        passed=n == 0, severity=dg.AssetCheckSeverity.WARN, metadata={"rows_unconverted": n}
    )


@dg.asset_check(asset=REPORT_KEY)
def report_written() -> dg.AssetCheckResult:
    """Test check on the report itself: runs after the report in the same run."""
    return dg.AssetCheckResult(passed=True)


@dataclass
class Migration:
    instance: dg.DagsterInstance
    url: str
    definitions: dg.Definitions
    source: LegacySourceResource

    def report(self, url: str | None = None) -> MigrationReport:
        specs = check_specs(self.definitions.resolve_implicit_global_asset_job_def())
        with psycopg.connect(url or self.url, autocommit=True) as conn:
            return build_report(conn, self.instance, specs)


@pytest.fixture(scope="module")
def migration(demo_source: Path) -> Iterator[Migration]:
    url = create_database("kgv_report")
    source = LegacySourceResource(url=f"sqlite:///{demo_source}")
    checks = [districts_present, birthdays_all_converted, report_written]
    definitions = dg.Definitions.merge(defs(), dg.Definitions(asset_checks=checks))
    try:
        with pytest.MonkeyPatch.context() as mp, dg.instance_for_test() as instance:
            mp.setenv("KGV_PG_URL", url)
            mp.setenv("KGV_SOURCE_URL", source.url)
            mp.setenv("KGV_SOURCE_SCHEMA", "")
            mp.delenv("KGV_REPORTS_DIR", raising=False)
            register_partition_keys(instance, source.partition_keys())
            job = definitions.resolve_job_def("full_migration")
            result = job.execute_in_process(instance=instance, tags=all_partitions_tags(instance))
            assert result.success
            yield Migration(instance, url, definitions, source)
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def report(migration: Migration) -> MigrationReport:
    return migration.report()


@pytest.fixture
def copy_url(migration: Migration) -> Iterator[str]:
    """A copy of the migrated database, to break on purpose."""
    url = copy_database(migration.url, "kgv_report_copy")
    yield url
    drop_database(url)


def test_figures_equal_independent_counts(migration: Migration, report: MigrationReport) -> None:
    figures = {(p.source_table, p.stage, p.partition): p for p in report.partitions}
    assert all(p.recorded for p in report.partitions)
    with psycopg.connect(migration.url) as conn:
        for t in TABLES:
            expected = migration.source.partition_counts(t)  # counted by the SQLite source
            loaded, rejected = loaded_and_quarantined(conn, t.name)
            for stage in ("staging", "target"):
                mine = {k[2]: p for k, p in figures.items() if k[:2] == (t.name, stage)}
                counted = {k: p.source_rows for k, p in mine.items() if p.source_rows}
                assert counted == expected, (t.name, stage)
            target = {k[2]: p for k, p in figures.items() if k[:2] == (t.name, "target")}
            assert {k: p.loaded_rows for k, p in target.items() if p.loaded_rows} == loaded
            assert {
                k: p.quarantined_rows for k, p in target.items() if p.quarantined_rows
            } == rejected
        assert report.source_rows == sum(
            sum(migration.source.partition_counts(t).values()) for t in TABLES
        )
        assert report.loaded_rows == sum(
            scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("kgv", target)))
            for target in TARGET_OF.values()
        )
        reasons: Counter[tuple[str, str, str]] = Counter()
        for table, stage, row_reasons in conn.execute(
            "SELECT source_table, stage, reasons FROM migration.rejected_rows"
        ):
            reasons.update((table, stage, r) for r in row_reasons)
        assert report.quarantined_rows == scalar(
            conn, "SELECT count(*) FROM migration.rejected_rows"
        )
        outcomes: Counter[tuple[str, str]] = Counter()
        for target in TARGET_OF.values():
            for (legacy,) in conn.execute(
                sql.SQL("SELECT legacy FROM {} WHERE legacy IS NOT NULL").format(
                    sql.Identifier("kgv", target)
                )
            ):
                outcomes.update((f"kgv.{target}", column) for column in legacy)
    assert {(r.source_table, r.stage, r.reason): r.rows for r in report.reasons} == reasons
    assert {(o.target_table, o.legacy_column): o.rows for o in report.rule_outcomes} == outcomes
    assert ("kgv.applications", "an_Geburtstag") in outcomes, "the demo plants bad birthdays"
    birthday = next(o for o in report.rule_outcomes if o.legacy_column == "an_Geburtstag")
    assert birthday.target_columns == ("birth_date",)
    staging_seconds = {r.source_table: r.seconds for r in report.staging}
    assert set(staging_seconds) == {t.name for t in TABLES}
    assert all(s > 0 for s in staging_seconds.values())


def test_checks_are_read_from_the_instance(migration: Migration, report: MigrationReport) -> None:
    checks = {c.key: c for c in report.checks}
    job = migration.definitions.resolve_implicit_global_asset_job_def()
    expected_keys = {spec.key.to_user_string() for spec in check_specs(job)}
    assert set(checks) == expected_keys
    present = checks["kgv/districts:districts_present"]
    with psycopg.connect(migration.url) as conn:
        districts = scalar(conn, "SELECT count(*) FROM kgv.districts")
        unconverted = scalar(
            conn, "SELECT count(*) FROM kgv.applications WHERE legacy ? 'an_Geburtstag'"
        )
    assert (present.status, present.severity) == ("passed", "ERROR")
    assert present.metadata == {"rows": districts, "share_checked": 1.0}
    warn = checks["kgv/applications:birthdays_all_converted"]
    assert (warn.status, warn.severity, warn.metadata) == (
        "failed",
        "WARN",
        {"rows_unconverted": unconverted},
    )
    assert checks["migration/report:report_written"].status == "passed"
    assert all(c.status != "never run" for c in report.checks), "full_migration runs every check"


def test_verdict_on_the_demo(report: MigrationReport) -> None:
    assert report.accounting_failures == []
    assert report.identities_checked >= 3 * len(report.partitions)
    assert report.verdict.level == "PASS WITH WARNINGS"
    warnings = [f.text for f in report.verdict.findings if f.level == "WARN"]
    assert "check kgv/applications:birthdays_all_converted failed (WARN)" in warnings


def test_the_asset_wrote_html_and_json(migration: Migration) -> None:
    event = migration.instance.get_latest_materialization_event(REPORT_KEY)
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    html, data = Path(str(metadata["html"].value)), Path(str(metadata["json"].value))
    assert html.parent == Path(migration.instance.root_directory) / "reports"
    assert html.read_text().startswith("<!DOCTYPE html>")
    written = json.loads(data.read_text())
    assert written["run_id"] == event.run_id
    assert written["verdict"]["level"] == metadata["verdict"].value
    assert (html.parent / "migration-report-latest.json").read_text() == data.read_text()
    statuses = {f"{c['asset_key']}:{c['check_name']}": c["status"] for c in written["checks"]}
    # The check on the report runs after it: the report says so rather than guessing.
    assert statuses["migration/report:report_written"] == "pending"
    assert statuses["kgv/districts:districts_present"] == "passed"


def _personal_values(url: str) -> set[str]:
    """Names, e-mails, phones and streets from the target and from quarantined raw rows."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT unnest(array[last_name, email, mobile_phone, street]) FROM kgv.applications"
            " UNION SELECT raw_row->>'an_Nachname' FROM migration.rejected_rows"
            " UNION SELECT raw_row->>'an_Vorname' FROM migration.rejected_rows"
        ).fetchall()
    return {v for (v,) in rows if v and len(v) >= 6}


def test_no_personal_data_in_any_rendering(migration: Migration, report: MigrationReport) -> None:
    values = _personal_values(migration.url)
    assert len(values) > 100
    event = migration.instance.get_latest_materialization_event(REPORT_KEY)
    assert event is not None and event.asset_materialization is not None
    written = Path(str(event.asset_materialization.metadata["html"].value)).read_text()
    for text in (render_html(report), dumps(report), render_terminal(report), written):
        for name in KNOWN_APPLICANT:
            assert name not in text
        leaked = {v for v in values if v in text}
        assert not leaked, f"{len(leaked)} personal values in the report"


def test_html_is_self_contained(report: MigrationReport) -> None:
    page = render_html(report)
    for needle in ("<script", "<link", " src=", "url(", "@import", "https://"):
        assert needle not in page
    assert page.count("<svg") == 3, "bars by table, by reason and table, and of the rules"
    assert "orphan: application not found" in page


def test_json_schema_is_stable(report: MigrationReport) -> None:
    data = to_dict(report)
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert set(data) == {
        "schema_version", "generated_at", "run_id", "database", "verdict", "totals", "tables",
        "partitions", "accounting", "quarantine_reasons", "rule_outcomes", "checks", "notes",
    }  # fmt: skip
    assert set(data["verdict"]) == {"level", "findings"}
    assert set(data["verdict"]["findings"][0]) == {"level", "text"}
    assert set(data["totals"]) == {
        "source_rows", "loaded_rows", "quarantined_rows", "staging_seconds", "target_seconds",
    }  # fmt: skip
    assert set(data["tables"]) == {"staging", "target"}
    assert set(data["tables"]["target"][0]) == {
        "source_table", "target_table", "partitions", "source_rows", "loaded_rows",
        "quarantined_rows", "seconds", "rows_per_second",
    }  # fmt: skip
    assert set(data["partitions"][0]) == {
        "source_table", "target_table", "partition", "stage", "recorded", "source_rows",
        "loaded_rows", "quarantined_rows", "counted_loaded", "counted_quarantined",
    }  # fmt: skip
    assert set(data["accounting"]) == {"identities_checked", "failures"}
    assert set(data["quarantine_reasons"][0]) == {"source_table", "stage", "reason", "rows"}
    assert set(data["rule_outcomes"][0]) == {
        "target_table", "legacy_column", "target_columns", "rule", "rows",
    }  # fmt: skip
    assert set(data["checks"][0]) == {
        "asset_key", "check_name", "status", "severity", "blocking", "run_id", "evaluated_at",
        "partitions_evaluated", "partitions_failed", "metadata",
    }  # fmt: skip
    assert json.loads(dumps(report)) == data


def test_kgv_report_prints_the_verdict(migration: Migration, tmp_path: Path) -> None:
    env = {"KGV_PG_URL": migration.url, "KGV_REPORTS_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["report", "--write"], env=env)
    assert result.exit_code == 0, result.output
    assert "verdict: PASS WITH WARNINGS" in result.output
    assert "orphan: application not found" in result.output
    assert json.loads((tmp_path / "migration-report-latest.json").read_text())["run_id"] is None


def test_a_deleted_target_row_fails(migration: Migration, copy_url: str) -> None:
    with psycopg.connect(copy_url, autocommit=True) as conn:
        row = conn.execute(
            "DELETE FROM kgv.application_history WHERE id = (SELECT id FROM"
            " kgv.application_history ORDER BY id LIMIT 1) RETURNING legacy_partition"
        ).fetchone()
    assert row is not None
    report = migration.report(copy_url)
    assert report.verdict.level == "FAIL"
    [failure] = report.accounting_failures
    assert (failure.source_table, failure.partition, failure.stage) == ("Verlauf", row[0], "target")
    assert failure.expected - failure.actual == 1
    result = CliRunner().invoke(main, ["report"], env={"KGV_PG_URL": copy_url})
    assert result.exit_code == 1
    assert "verdict: FAIL" in result.output


def test_an_altered_reconciliation_row_fails(migration: Migration, copy_url: str) -> None:
    with psycopg.connect(copy_url, autocommit=True) as conn:
        # The CHECK constraint refuses figures that do not add up ...
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "UPDATE migration.reconciliation SET loaded_rows = loaded_rows + 1"
                " WHERE source_table = 'Antrag' AND stage = 'target'"
            )
        # ... but not figures that add up and are wrong.
        partition = conn.execute(
            "UPDATE migration.reconciliation SET loaded_rows = loaded_rows - 1,"
            " quarantined_rows = quarantined_rows + 1 WHERE (source_table, partition, stage) ="
            " (SELECT source_table, partition, stage FROM migration.reconciliation"
            "  WHERE source_table = 'Antrag' AND stage = 'target' AND loaded_rows > 0 LIMIT 1)"
            " RETURNING partition"
        ).fetchone()
    assert partition is not None
    report = migration.report(copy_url)
    assert report.verdict.level == "FAIL"
    broken = {(f.source_table, f.partition, f.identity) for f in report.accounting_failures}
    assert broken == {
        ("Antrag", partition[0], "loaded rows = rows in kgv.applications"),
        ("Antrag", partition[0], "quarantined rows = entries in migration.rejected_rows"),
    }


def test_kgv_report_on_an_empty_database_says_why(migration: Migration, pg_url: str) -> None:
    result = CliRunner().invoke(main, ["report"], env={"KGV_PG_URL": pg_url})
    assert result.exit_code == 1
    assert "has no migration.reconciliation" in result.output
    assert "Traceback" not in result.output
