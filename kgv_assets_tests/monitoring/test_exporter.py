"""The real prometheus-postgres-exporter with monitoring/postgres-exporter/queries.yaml.

Starts /usr/bin/prometheus-postgres-exporter on a free loopback port against a database holding
a real full migration, scrapes /metrics over HTTP and compares every kgv_* series with the same
figures queried independently from the database: accounting, quarantine (by stage and by
reason), target row counts, audit events, the age of the last Dagster success. Breaking the
accounting in the database flips kgv_reconciliation_accounting_ok; no personal data of the demo
source appears in the scrape.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import LiteralString

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.demo_data import KNOWN_APPLICANT
from kgv_assets_tests.monitoring.conftest import (
    AUDITED_UPDATES,
    MONITORING,
    Samples,
    broken_accounting,
    parse,
    running_exporter,
    scrape_text,
)

pytestmark = pytest.mark.slow
GRANTS = MONITORING / "postgres-exporter" / "grants.sql"


@pytest.fixture(scope="module")
def exporter(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The /metrics URL of an exporter watching the migrated database as its owner."""
    with running_exporter(migrated_url, tmp_path_factory.mktemp("exporter") / "log") as url:
        yield url


def scrape(url: str) -> Samples:
    """Scrape and parse; fail when a custom query failed (it would silently drop its series)."""
    samples = parse(scrape_text(url))
    assert samples[("pg_up", frozenset())] == 1
    assert samples[("pg_exporter_last_scrape_error", frozenset())] == 0
    return samples


def series(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """The series of ``name`` keyed by the values of ``labels``, in that order."""
    out = {}
    for (metric, labelset), value in samples.items():
        if metric == name:
            d = dict(labelset)
            assert set(d) == set(labels), (name, d)
            out[tuple(d[k] for k in labels)] = value
    return out


def rows(conn: psycopg.Connection, query: LiteralString | sql.Composed) -> dict[tuple, float]:
    """Result rows keyed by all columns but the last, which is the value."""
    return {tuple(r[:-1]): float(r[-1]) for r in conn.execute(query)}


def test_accounting_series_equal_the_reconciliation_table(exporter: str, migrated_url: str) -> None:
    samples = scrape(exporter)
    with psycopg.connect(migrated_url) as conn:
        for column in ("source_rows", "loaded_rows", "quarantined_rows"):
            expected = rows(
                conn,
                sql.SQL(
                    "SELECT source_table, stage, sum({}) FROM migration.reconciliation"
                    " GROUP BY 1, 2"
                ).format(sql.Identifier(column)),
            )
            got = series(samples, f"kgv_reconciliation_{column}", "source_table", "stage")
            assert got == expected, column
        partitions = rows(
            conn, "SELECT source_table, stage, count(*) FROM migration.reconciliation GROUP BY 1, 2"
        )
        ages = rows(
            conn,
            "SELECT source_table, stage, extract(epoch FROM now() - max(reconciled_at))"
            " FROM migration.reconciliation GROUP BY 1, 2",
        )
    assert {t for t, _ in partitions} == {t.name for t in TABLES}
    assert series(samples, "kgv_reconciliation_partitions", "source_table", "stage") == partitions
    ok = series(samples, "kgv_reconciliation_accounting_ok", "source_table", "stage")
    assert ok == dict.fromkeys(partitions, 1.0)
    broken = series(samples, "kgv_reconciliation_broken_partitions", "source_table", "stage")
    assert broken == dict.fromkeys(partitions, 0.0)
    scraped_ages = series(samples, "kgv_reconciliation_age_seconds", "source_table", "stage")
    assert scraped_ages.keys() == ages.keys()
    for key, age in ages.items():  # queried after the scrape: a little older
        assert 0 <= age - scraped_ages[key] < 30, key


def test_quarantine_series_equal_the_rejected_rows(exporter: str, migrated_url: str) -> None:
    samples = scrape(exporter)
    with psycopg.connect(migrated_url) as conn:
        by_stage = rows(
            conn,
            "SELECT source_table, stage, count(*) FROM migration.rejected_rows GROUP BY 1, 2",
        )
        by_reason = rows(
            conn,
            "SELECT source_table, stage, reason, count(DISTINCT id)"
            " FROM migration.rejected_rows, unnest(reasons) AS reason GROUP BY 1, 2, 3",
        )
    assert sum(by_stage.values()) > 0, "the demo source plants rows that must be quarantined"
    got = series(samples, "kgv_quarantine_rows", "source_table", "stage")
    # every table and stage has a series, zeros included, so growth from zero is seen
    assert got.keys() == {(t.name, s) for t in TABLES for s in ("legacy", "transform", "target")}
    assert {k: v for k, v in got.items() if v} == by_stage
    reasons = series(samples, "kgv_quarantine_reason_rows", "source_table", "stage", "reason")
    assert reasons == by_reason


def test_table_rows_equal_counts_of_the_target_tables(exporter: str, migrated_url: str) -> None:
    with psycopg.connect(migrated_url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'kgv'"
                " UNION SELECT c.relname FROM pg_class c JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE n.nspname = 'kgv' AND c.relkind = 'p'"
            )
        ]
        partitions = {
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'kgv' AND c.relispartition"
            )
        }
        counts = {
            (name,): float(
                conn.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("kgv", name))
                ).fetchone()[0]  # type: ignore[index]
            )
            for name in names
            if name not in partitions
        }
    assert counts[("applications",)] > 0 and counts[("application_history",)] > 0
    # the statistics are written when the loading sessions end: allow them a moment
    deadline = time.monotonic() + 20
    while True:
        got = series(scrape(exporter), "kgv_table_rows_estimate", "table")
        if got == counts or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert got == counts


def test_audit_series_count_the_changes_of_the_last_day(exporter: str, migrated_url: str) -> None:
    samples = scrape(exporter)
    with psycopg.connect(migrated_url) as conn:
        expected = rows(
            conn,
            "SELECT split_part(table_name, '.', 2), operation, count(*) FROM audit.log"
            " WHERE changed_at > now() - interval '24 hours' GROUP BY 1, 2",
        )
        tables = {r[0] for r in conn.execute("SELECT DISTINCT table_name FROM audit.log")}
    got = series(samples, "kgv_audit_events_24h", "table", "operation")
    assert tables == {"kgv.districts", "kgv.event_types"}
    assert {k: v for k, v in got.items() if v} == expected
    assert got[("districts", "UPDATE")] == AUDITED_UPDATES
    assert got[("event_types", "INSERT")] == got[("event_types", "DELETE")] == 1
    assert got[("applications", "UPDATE")] == 0  # the bulk load itself is not audited


def test_dagster_series_is_the_age_of_the_last_success(exporter: str, migrated_url: str) -> None:
    samples = scrape(exporter)
    with psycopg.connect(migrated_url) as conn:
        expected = rows(
            conn,
            "SELECT pipeline_name, extract(epoch FROM now()) - max(end_time) FROM runs"
            " WHERE status = 'SUCCESS' GROUP BY 1",
        )
    got = series(samples, "kgv_dagster_last_success_age_seconds", "job")
    assert got.keys() == expected.keys() == {("full_migration",)}
    assert 0 <= expected[("full_migration",)] - got[("full_migration",)] < 30


def test_broken_accounting_flips_the_gauge(exporter: str, migrated_url: str) -> None:
    key = ("Antrag", "target")
    assert (
        series(scrape(exporter), "kgv_reconciliation_accounting_ok", *("source_table", "stage"))[
            key
        ]
        == 1
    )
    with broken_accounting(migrated_url, *key):
        samples = scrape(exporter)
    ok = series(samples, "kgv_reconciliation_accounting_ok", "source_table", "stage")
    assert ok[key] == 0
    assert [k for k, v in ok.items() if v != 1] == [key]
    assert (
        series(samples, "kgv_reconciliation_broken_partitions", "source_table", "stage")[key] == 1
    )
    healed = series(scrape(exporter), "kgv_reconciliation_accounting_ok", "source_table", "stage")
    assert healed[key] == 1


def test_the_scrape_holds_no_personal_data(exporter: str, migrated_url: str) -> None:
    text = scrape_text(exporter)
    with psycopg.connect(migrated_url) as conn:
        # the planted applicant is in the database: loaded or quarantined with the raw row
        found = conn.execute(
            "SELECT (SELECT count(*) FROM kgv.applications WHERE first_name = %s)"
            " + (SELECT count(*) FROM migration.rejected_rows WHERE raw_row::text LIKE %s)",
            (KNOWN_APPLICANT[0], f"%{KNOWN_APPLICANT[1]}%"),
        ).fetchone()
        reasons = {
            r[0]
            for r in conn.execute("SELECT DISTINCT unnest(reasons) FROM migration.rejected_rows")
        }
        kgv_tables = {
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'kgv' AND c.relkind IN ('r', 'p')"
            )
        }
    assert found is not None and found[0] > 0
    for part in KNOWN_APPLICANT:
        assert part not in text
    # kgv_* labels carry only names of tables, stages, rules, operations and jobs
    allowed = {
        "source_table": {t.name for t in TABLES},
        "stage": {"staging", "target", "legacy", "transform"},
        "reason": reasons,
        "table": kgv_tables,
        "operation": {"INSERT", "UPDATE", "DELETE"},
        "job": {"full_migration"},
        "server": {"{host}:{port}".format(**conninfo_to_dict(migrated_url))},
    }
    for family in text_string_to_metric_families(text):
        if family.name.startswith("kgv_"):
            for s in family.samples:
                for label, value in s.labels.items():
                    assert value in allowed[label], (family.name, label)


def test_least_privilege_login_scrapes_all_without_reading_rows(
    exporter: str, migrated_url: str, tmp_path: Path
) -> None:
    role, password = f"kgv_mon_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    info = conninfo_to_dict(migrated_url)
    role_url = f"postgresql://{role}:{password}@{info['host']}:{info['port']}/{info['dbname']}"
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    try:
        subprocess.run(
            ["psql", migrated_url, "-X", "-q", "-v", f"role={role}", "-f", str(GRANTS)],
            check=True,
            capture_output=True,
        )
        with running_exporter(role_url, tmp_path / "log") as url:
            restricted = scrape(url)  # fails on any query error
        with psycopg.connect(role_url) as conn:
            for query in (
                "SELECT raw_row FROM migration.rejected_rows",
                "SELECT new_row FROM audit.log",
                "SELECT run_body FROM runs",
                "SELECT first_name FROM kgv.applications",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                    conn.execute(query)  # type: ignore[arg-type]
    finally:
        with psycopg.connect(migrated_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    owner = scrape(exporter)
    kgv = {k: v for k, v in owner.items() if k[0].startswith("kgv_") and "age" not in k[0]}
    assert kgv, "the owner's scrape has kgv_* series"
    assert {k: restricted.get(k) for k in kgv} == kgv
