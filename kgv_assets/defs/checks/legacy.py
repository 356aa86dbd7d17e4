"""The asset checks of the legacy tables landed in ``staging``: reconciliation per partition.

Blocking: when a staging load does not reconcile, no target table is built from it in the
same run. (The content, key and rule checks run on the target tables, where the data ends up.)
"""

import dagster as dg

from kgv_assets.defs.checks.factory import reconciled_check, table_checks
from kgv_assets.layout import legacy_key
from kgv_assets.legacy.catalogue import TABLES, Table
from kgv_assets.validation.reconciliation import staging_ledger


def staged_reconciled(table: Table) -> dg.AssetChecksDefinition:
    """``<table>_reconciled`` on ``legacy/<Table>``: source = staged + quarantined."""
    check = reconciled_check(
        table.name.lower(),
        staging_ledger(table.name),
        table,
        f"Per partition: legacy {table.name} rows (counted by the source) = rows in "
        f'staging."{table.name}" + rows the legacy schema quarantined, and '
        "migration.reconciliation records exactly these numbers. Blocking: no target table is "
        "built from a staging load that does not reconcile.",
    )
    return table_checks(legacy_key(table.name), [check], partitioned=table.is_partitioned)


legacy_checks = [staged_reconciled(t) for t in TABLES]
