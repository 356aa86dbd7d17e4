"""The code location loads, without side effects or Dagster warnings, with the expected objects."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from kgv_assets.definitions import defs
from kgv_assets.legacy.catalogue import TABLES

LEGACY_KEYS = {dg.AssetKey(["legacy", t.name]) for t in TABLES}


def test_definitions_load_and_validate() -> None:
    d = defs()
    dg.Definitions.validate_loadable(d)
    keys = set(d.resolve_asset_graph().get_all_asset_keys())
    assert keys >= LEGACY_KEYS
    assert d.resolve_job_def("full_migration") is not None
    # Issue 14: the backups group, its jobs, schedules and check.
    assert keys >= {
        dg.AssetKey(["backups", n])
        for n in ("pre_migration_snapshot", "logical_dump", "dump_verification",
                  "repository_verification")
    }  # fmt: skip
    assert d.resolve_job_def("backup_dump_job") and d.resolve_job_def("backup_verify_job")
    assert d.resolve_schedule_def("nightly_backup_schedule")
    assert d.resolve_schedule_def("weekly_backup_verify_schedule")
    graph = d.resolve_asset_graph()
    assert (
        dg.AssetCheckKey(dg.AssetKey(["backups", "dump_verification"]), "newest_backup_verified")
        in graph.asset_check_keys
    )


def test_partitioned_legacy_assets_share_the_yearly_partitions() -> None:
    graph = defs().resolve_asset_graph()
    for t in TABLES:
        node = graph.get(dg.AssetKey(["legacy", t.name]))
        if t.is_partitioned:
            assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
            assert node.partitions_def.name == "legacy_year"
            assert node.backfill_policy == dg.BackfillPolicy.single_run()
        else:
            assert node.partitions_def is None


def test_import_has_no_side_effects_and_no_deprecation_warnings() -> None:
    # An unreachable database: importing and loading must not connect anywhere.
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning);"
        "warnings.simplefilter('error', FutureWarning);"
        "from kgv_assets.definitions import defs; defs()"
    )
    env = {"KGV_PG_URL": "postgresql://nobody@192.0.2.1:1/none", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Deprecat" not in done.stderr and "Supersed" not in done.stderr
