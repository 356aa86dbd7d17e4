"""The asset checks of the ``kgv`` target tables, generated from their declarations.

Which checks a table has is declared in ``kgv_assets/validation/registry.py``; what each check
does is in ``kgv_assets/validation`` (one module per concern). ERROR checks are blocking: a
failure stops the assets downstream in the same run and fails the run (so ``validate`` exits
non-zero); WARN checks flag dirty legacy data the migration kept.
"""

import dagster as dg
import psycopg

from kgv_assets.defs.checks.factory import Check, StepSource, reconciled_check, table_checks
from kgv_assets.layout import REPORTING_VIEWS, REPORTING_VIEWS_KEY, TARGET, target_key
from kgv_assets.validation import content, integrity, rules
from kgv_assets.validation.outcome import Outcome
from kgv_assets.validation.registry import TABLE_CHECKS, TableChecks
from kgv_assets.validation.rules import Rule


def _reconciled(spec: TableChecks) -> Check:
    ledger, source = spec.ledger, spec.source
    assert ledger is not None and source is not None
    return reconciled_check(
        spec.name,
        ledger,
        source,
        f"Per partition: legacy {source.name} rows (counted by the source) = rows in "
        f"kgv.{spec.name} + rows in migration.rejected_rows, and migration.reconciliation "
        "records exactly these numbers. Blocking: nothing downstream runs on a failure.",
    )


def _matches_source(spec: TableChecks) -> Check:
    how, source = spec.content, spec.source
    assert how is not None and source is not None

    def evaluate(conn: psycopg.Connection, legacy: StepSource, scope: list[str] | None) -> Outcome:
        return content.matches_source(conn, how, legacy.hashes(how), scope)

    return Check(
        f"{spec.name}_matches_source",
        f"The source partitions of legacy {source.name} are re-read with every row's content "
        f"hash (the staging hash); per partition, count and hash sums equal those of "
        f"kgv.{spec.name}.legacy_hash plus the quarantine, and where a partition differs its "
        "rows are compared: missing, changed and extra rows are counted, with example keys.",
        evaluate,
        blocking=True,
        reads=how,
    )


def _keys_unique(spec: TableChecks) -> Check:
    table = spec.table
    return Check(
        f"{spec.name}_keys_unique",
        f"No two rows of kgv.{spec.name} share their key ({', '.join(table.key)}).",
        lambda conn, _legacy, scope: integrity.duplicate_keys(conn, table, scope),
        blocking=True,
    )


def _references_resolve(spec: TableChecks) -> Check:
    table, foreign_keys = spec.table, spec.foreign_keys
    refs = ", ".join(f"{fk.column} → kgv.{fk.parent}" for fk in foreign_keys)
    return Check(
        f"{spec.name}_references_resolve",
        f"No orphans in kgv.{spec.name}: every non-NULL reference finds its row ({refs}).",
        lambda conn, _legacy, scope: integrity.orphans(conn, table, foreign_keys, scope),
        blocking=True,
    )


def _values_converted(spec: TableChecks) -> Check:
    table = spec.table
    return Check(
        f"{spec.name}_values_converted",
        f"Legacy values that did not convert are NULL in their kgv.{spec.name} column and kept "
        "raw in `legacy`: counted per legacy column (WARN — dirty legacy data, nothing lost).",
        lambda conn, _legacy, scope: rules.unconverted_values(conn, table, scope),
        blocking=False,
    )


def _rule(spec: TableChecks, rule: Rule) -> Check:
    table = spec.table
    return Check(
        rule.name,
        f"{rule.description} ({rule.severity})",
        lambda conn, _legacy, scope: rule.evaluate(conn, table, scope),
        blocking=rule.severity == "ERROR",
    )


def checks_of(spec: TableChecks) -> dg.AssetChecksDefinition:
    """Every check declared for one target table."""
    checks = []
    if spec.source is not None:
        checks += [_reconciled(spec), _matches_source(spec), _values_converted(spec)]
    checks.append(_keys_unique(spec))
    if spec.foreign_keys:
        checks.append(_references_resolve(spec))
    checks += [_rule(spec, rule) for rule in spec.rules]
    return table_checks(
        target_key(spec.name),
        checks,
        partitioned=bool(spec.source and spec.source.is_partitioned),
    )


reporting_views_current = table_checks(
    REPORTING_VIEWS_KEY,
    [
        Check(
            "reporting_views_current",
            "The materialized reporting views hold exactly what their queries return now.",
            lambda conn, _legacy, _scope: integrity.views_current(
                conn, [(TARGET, view) for view in REPORTING_VIEWS]
            ),
            blocking=True,
        )
    ],
    partitioned=False,
)

target_checks = [checks_of(spec) for spec in TABLE_CHECKS]
