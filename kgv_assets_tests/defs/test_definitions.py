"""The code location: loads without side effects or warnings, with exactly the expected objects.

The assets, asset checks, jobs, sensors and schedules are spelled out here, not derived from
the code, so an object the autoloader dropped or one added by accident fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from kgv_assets.definitions import defs

LEGACY_TABLES = [
    "Aktenzeichen",
    "Antrag",
    "Bezirk",
    "Bezirke_Katasterbezirke",
    "Eingangsnummer",
    "Katasterbezirk",
    "Kennungen",
    "Mischenfelder",
    "Personen",
    "Verlauf",
]
PARTITIONED_LEGACY = {"Aktenzeichen", "Antrag", "Eingangsnummer", "Verlauf"}
LOADED = ["reconciled", "matches_source", "values_converted", "keys_unique"]
REFERENCES = [*LOADED, "references_resolve"]
TARGET_CHECKS: dict[str, list[str]] = {
    "districts": LOADED,
    "cadastral_districts": REFERENCES,
    "district_cadastral_links": REFERENCES,
    "file_references": LOADED,
    "entry_numbers": LOADED,
    "applications": [
        *REFERENCES,
        "emails_valid",
        "postal_codes_valid",
        "phone_numbers_valid",
        "confirmed_after_applying",
        "waiting_list_numbers_unique",
        "file_references_linked",
    ],
    "application_history": REFERENCES,
    "users": [*LOADED, "emails_valid"],
    "identifiers": REFERENCES,
    "field_mappings": LOADED,
    "event_types": ["keys_unique", "known"],
}
PARTITIONED_TARGETS = {"applications", "application_history", "file_references", "entry_numbers"}


def _expected_assets() -> set[str]:
    return {
        *(f"legacy/{t}" for t in LEGACY_TABLES),
        *(f"kgv/{t}" for t in TARGET_CHECKS),
        "kgv/reporting_views",
        "migration/schema_migrations",
        "migration/report",
        "backups/pre_migration_snapshot",
        "backups/logical_dump",
        "backups/dump_verification",
        "backups/repository_verification",
    }


def _expected_checks() -> set[str]:
    checks = {f"legacy/{t}:{t.lower()}_reconciled" for t in LEGACY_TABLES}
    checks |= {f"kgv/{t}:{t}_{c}" for t, cs in TARGET_CHECKS.items() for c in cs}
    checks.add("kgv/reporting_views:reporting_views_current")
    checks.add("backups/dump_verification:newest_backup_verified")
    tables = [*(f"legacy/{t}" for t in LEGACY_TABLES), *(f"kgv/{t}" for t in TARGET_CHECKS)]
    checks |= {f"{t}:column_schema_change" for t in tables if t != "kgv/event_types"}
    return checks


def test_the_code_location_has_exactly_the_expected_objects() -> None:
    d = defs()
    dg.Definitions.validate_loadable(d)
    graph = d.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == _expected_assets()
    checks = {f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys}
    assert checks == _expected_checks()
    assert len(checks) == 86
    repository = d.get_repository_def()
    jobs = {j.name for j in repository.get_all_jobs() if not j.name.startswith("__")}
    assert jobs == {
        "full_migration",
        "incremental_migration",
        "partition_refresh_job",
        "validate",
        "backup_dump_job",
        "backup_verify_job",
        "gdpr_erase_job",
    }
    assert {s.name for s in repository.sensor_defs} == {
        "legacy_changes_sensor",
        "run_outcomes_sensor",
    }
    assert {s.name for s in repository.schedule_defs} == {
        "nightly_refresh_schedule",
        "weekly_validation_schedule",
        "nightly_backup_schedule",
        "weekly_backup_verify_schedule",
    }


def test_the_dated_tables_share_the_yearly_partitions_and_have_freshness_policies() -> None:
    graph = defs().resolve_asset_graph()
    partitioned = {f"legacy/{t}" for t in PARTITIONED_LEGACY} | {
        f"kgv/{t}" for t in PARTITIONED_TARGETS
    }
    nightly = partitioned | {"kgv/event_types", "kgv/reporting_views"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        if name in partitioned:
            assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition), name
            assert node.partitions_def.name == "legacy_year"
            assert node.backfill_policy == dg.BackfillPolicy.single_run()
        else:
            assert node.partitions_def is None, name
        assert (node.freshness_policy is not None) == (name in nightly), name


def test_import_has_no_side_effects_and_no_dagster_warnings() -> None:
    # An unreachable database: importing and loading must not connect anywhere.
    code = (
        "import warnings; warnings.simplefilter('error');"
        "from kgv_assets.definitions import defs; defs()"
    )
    env = {"KGV_PG_URL": "postgresql://nobody@192.0.2.1:1/none", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr


def test_dg_check_defs_passes_without_warnings() -> None:
    """``dg check defs`` (dagster-dg-cli, ``[tool.dg]`` in pyproject.toml), as the README says."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "VIRTUAL_ENV": str(root / ".venv")}
    env.pop("KGV_SOURCE_SCHEMA", None)
    done = subprocess.run(
        [str(root / ".venv" / "bin" / "dg"), "check", "defs"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr and "warning" not in done.stderr
