"""Collect the report's figures from the target database and the Dagster instance.

From PostgreSQL: ``migration.reconciliation`` (per table, partition and stage), a recount of
every staging and target table and of ``migration.rejected_rows`` per partition, the quarantine
reasons (``reasons`` unnested; the raw rows are never read) and the rule outcomes (the keys of
each target table's ``legacy`` jsonb column — which legacy columns did not convert — counted,
their values never read). From Dagster: the latest asset-check results (``check_results``).
All queries are aggregates: one round trip per table, none per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

import dagster as dg
import psycopg
from psycopg import sql

from kgv_assets.layout import (
    LEGACY_VALUES,
    LOADED_TABLES,
    PARTITION_COLUMN,
    STAGING,
    TARGET,
    TARGET_PARTITION,
    loaded_from,
)
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.reporting.check_results import latest_check_results
from kgv_assets.reporting.erasures import count_erasures, with_erasures
from kgv_assets.reporting.model import (
    MigrationReport,
    PartitionFigures,
    ReasonCount,
    RuleOutcome,
)
from kgv_assets.reporting.rollbacks import collect_rollbacks, with_rollbacks
from kgv_assets.reporting.summary import summary
from kgv_assets.reporting.verdict import accounting_failures, judge
from kgv_assets.transform.tables.registry import LOADERS

NOTES = (
    "Accounting: migration.reconciliation as recorded by the loads, each figure recounted from "
    "the tables when the report was written.",
    "Quarantined rows by reason count a row once per reason (a row may have several).",
    "Rule outcomes: loaded rows whose legacy value did not convert; the target column is NULL "
    "(or the documented default) and the raw value is kept in the row's legacy column.",
    "Data quality: the latest result of every asset check recorded on the Dagster instance when "
    "the report was written. In a full_migration run, blocking checks of the target tables run "
    "before this report; other checks may finish after it and show 'pending' or their previous "
    "result — `kgv report` shows the final state after the run (and after a validate run).",
    "Personal data: keys, counts, reasons and rules only; legacy values are never shown.",
)


class MissingSchemaError(RuntimeError):
    """The database has no migration schema: nothing to report on."""


def _existing_tables(conn: psycopg.Connection) -> set[tuple[str, str]]:
    rows = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema = ANY(%s)",
        ([STAGING, TARGET],),
    ).fetchall()
    return {(s, t) for s, t in rows}


def _count_by_partition(
    conn: psycopg.Connection, schema: str, name: str, column: str
) -> dict[str, int]:
    query = sql.SQL("SELECT {c}, count(*) FROM {t} GROUP BY 1").format(
        c=sql.Identifier(column), t=sql.Identifier(schema, name)
    )
    return {str(k): n for k, n in conn.execute(query).fetchall()}


def partition_figures(conn: psycopg.Connection) -> list[PartitionFigures]:
    """Reconciliation rows beside their recounts, per table, partition and stage."""
    existing = _existing_tables(conn)
    counted: dict[tuple[str, str], dict[str, int]] = {}
    for t in TABLES:
        if (STAGING, t.name) in existing:
            counted[t.name, "staging"] = _count_by_partition(
                conn, STAGING, t.name, PARTITION_COLUMN
            )
    for target in LOADED_TABLES:
        if (TARGET, target.name) in existing:
            counted[target.legacy.name, "target"] = _count_by_partition(
                conn, TARGET, target.name, TARGET_PARTITION
            )
    rejected: dict[tuple[str, str, str], int] = defaultdict(int)
    for table, partition, stage, n in conn.execute(
        "SELECT source_table, partition, stage, count(*) FROM migration.rejected_rows"
        " GROUP BY 1, 2, 3"
    ).fetchall():
        # Staging accounts for what the extractor rejected; the target for every stage.
        if stage == "legacy":
            rejected[table, partition, "staging"] += n
        rejected[table, partition, "target"] += n
    out = []
    seen = set()
    for row in conn.execute(
        "SELECT source_table, target_table, partition, stage, source_rows, loaded_rows,"
        " quarantined_rows FROM migration.reconciliation ORDER BY stage DESC, source_table,"
        " partition"
    ).fetchall():
        table, target, partition, stage, src, loaded, quarantined = row
        seen.add((table, partition, stage))
        out.append(
            PartitionFigures(
                table,
                target,
                partition,
                stage,
                src,
                loaded,
                quarantined,
                counted.get((table, stage), {}).get(partition, 0),
                rejected.get((table, partition, stage), 0),
            )
        )
    # Rows no reconciliation row accounts for (in a table or in quarantine).
    unaccounted: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (table, stage), by_partition in counted.items():
        for partition, n in by_partition.items():
            unaccounted[table, partition, stage][0] += n
    for key, n in rejected.items():
        unaccounted[key[0], key[1], key[2]][1] += n
    for (table, partition, stage), (loaded, quarantined) in sorted(unaccounted.items()):
        if (table, partition, stage) not in seen:
            name = f"{STAGING}.{table}" if stage == "staging" else loaded_from(table).qualified
            out.append(
                PartitionFigures(
                    table, name, partition, stage, 0, 0, 0, loaded, quarantined, recorded=False
                )
            )
    return out


def quarantine_reasons(conn: psycopg.Connection) -> list[ReasonCount]:
    """Quarantined rows per legacy table, stage and reason (most frequent first)."""
    rows = conn.execute(
        "SELECT source_table, stage, reason, count(*) FROM migration.rejected_rows,"
        " unnest(reasons) AS reason GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3"
    ).fetchall()
    return [ReasonCount(*r) for r in rows]


def rule_outcomes(conn: psycopg.Connection) -> list[RuleOutcome]:
    """Per target table and legacy column: loaded rows whose value did not convert."""
    existing = _existing_tables(conn)
    out = []
    for loader in LOADERS:
        mapping = loader.mapping
        if (TARGET, mapping.target) not in existing:
            continue
        counts = conn.execute(
            sql.SQL(
                "SELECT k, count(*) FROM {t}, jsonb_object_keys({legacy}) AS k"
                " WHERE jsonb_typeof({legacy}) = 'object' GROUP BY 1 ORDER BY 2 DESC, 1"
            ).format(t=mapping.table.ident, legacy=sql.Identifier(LEGACY_VALUES))
        ).fetchall()
        for column, n in counts:
            rules = [r for r in mapping.rules if r.source == column]
            converted = [r for r in rules if r.convert is not None] or rules
            out.append(
                RuleOutcome(
                    mapping.table.qualified,
                    column,
                    tuple(r.target for r in converted),
                    "; ".join(dict.fromkeys(r.description for r in converted))
                    or "kept raw (no target column)",
                    n,
                )
            )
    return out


def database_name(conn: psycopg.Connection) -> str:
    """The target database's name (never the URL: it may hold a password)."""
    return str(conn.info.dbname)


def build_report(
    conn: psycopg.Connection,
    instance: dg.DagsterInstance,
    specs: Iterable[dg.AssetCheckSpec],
    run_id: str | None = None,
) -> MigrationReport:
    """Read every figure and judge them.

    The database figures are read in one read-only snapshot (REPEATABLE READ), so a load
    committing meanwhile cannot make the recount disagree with the accounting.

    Raises:
        MissingSchemaError: the database has no ``migration.reconciliation``.
    """
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        found = conn.execute("SELECT to_regclass('migration.reconciliation')").fetchone()
        if not found or found[0] is None:
            raise MissingSchemaError(
                f"database {database_name(conn)} has no migration.reconciliation: "
                "the target schema is not there yet (run full_migration first)"
            )
        generated_at = datetime.now(UTC).isoformat(timespec="seconds")
        partitions = partition_figures(conn)
        staging, target = summary(conn, "staging"), summary(conn, "target")
        reasons, outcomes = quarantine_reasons(conn), rule_outcomes(conn)
        rollbacks = collect_rollbacks(conn)  # issue 14
        erasures = count_erasures(conn)  # issue 16
    checked, failures = accounting_failures(partitions)
    checks = latest_check_results(instance, specs)
    return MigrationReport(
        generated_at=generated_at,
        run_id=run_id,
        database=database_name(conn),
        staging=staging,
        target=target,
        partitions=partitions,
        reasons=reasons,
        rule_outcomes=outcomes,
        checks=checks,
        identities_checked=checked,
        accounting_failures=failures,
        verdict=with_erasures(
            with_rollbacks(judge(partitions, failures, checked, checks), rollbacks), erasures
        ),
        notes=NOTES,
    )
