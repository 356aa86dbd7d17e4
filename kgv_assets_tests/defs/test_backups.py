"""The ``backups`` group in Dagster: jobs, schedules, the check, and what migrations run.

``backup_dump_job`` runs for real against the session's shared migration: a dump with its
manifest, its restore test in a fresh private cluster, and ``newest_backup_verified`` passing
(metadata without personal data). The check is ERROR (and the run fails, it is blocking) when
the newest verified dump is older than 26 hours, and when the last restore test failed (one
byte of the dump flipped). ``full_migration`` takes the pre-migration snapshot before anything
else and none of the scheduled backups; the sync's refresh runs select neither; ``validate``
and the migration report leave the backups' check out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from kgv_assets.backup import dumps
from kgv_assets.definitions import defs
from kgv_assets.defs.backups.assets import (
    DUMP_KEY,
    DUMP_VERIFICATION_KEY,
    OPERATIONAL_BACKUP_KEYS,
    REPOSITORY_VERIFICATION_KEY,
    SNAPSHOT_KEY,
)
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.demo_data import KNOWN_APPLICANT
from kgv_assets.reporting.check_results import check_specs
from kgv_assets.sync.changes import Changes
from kgv_assets.sync.runs import run_requests
from kgv_assets_tests.conftest import Migrated

CHECK = dg.AssetCheckKey(DUMP_VERIFICATION_KEY, "newest_backup_verified")


def test_the_group_its_jobs_and_schedules() -> None:
    d = defs()
    graph = d.resolve_asset_graph()
    keys = {SNAPSHOT_KEY, *OPERATIONAL_BACKUP_KEYS}
    assert {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "backups"} == keys
    dump_job, verify_job = (
        d.resolve_job_def("backup_dump_job"),
        d.resolve_job_def("backup_verify_job"),
    )
    assert dump_job.asset_layer.executable_asset_keys == {DUMP_KEY, DUMP_VERIFICATION_KEY}
    assert verify_job.asset_layer.executable_asset_keys == {
        DUMP_VERIFICATION_KEY,
        REPOSITORY_VERIFICATION_KEY,
    }
    for name, job in (
        ("nightly_backup_schedule", "backup_dump_job"),
        ("weekly_backup_verify_schedule", "backup_verify_job"),
    ):
        schedule = d.resolve_schedule_def(name)
        assert schedule.job_name == job
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
        assert schedule.execution_timezone == "Europe/Berlin"
    spec = graph.get_check_spec(CHECK)
    assert spec.blocking


def test_migrations_take_the_snapshot_and_never_the_scheduled_backups() -> None:
    d = defs()
    full = d.resolve_job_def("full_migration").asset_layer.executable_asset_keys
    assert SNAPSHOT_KEY in full and not set(full) & set(OPERATIONAL_BACKUP_KEYS)
    schema = d.resolve_asset_graph().get(dg.AssetKey(["migration", "schema_migrations"]))
    assert SNAPSHOT_KEY in schema.parent_keys, "the snapshot runs before the schema changes"

    repository = d.get_repository_def()
    changes = Changes({t.name: ["2021", "2022"] for t in TABLES if t.is_partitioned})
    requests = run_requests(changes, ["2020", "2021", "2022"], repository, key_prefix="t")
    assert requests
    for request in requests:
        assert not set(request.asset_selection or []) & {SNAPSHOT_KEY, *OPERATIONAL_BACKUP_KEYS}

    validate = d.resolve_job_def("validate").asset_layer.asset_graph.asset_check_keys
    assert CHECK not in validate
    assert CHECK not in {s.key for s in check_specs(d.resolve_implicit_global_asset_job_def())}


@pytest.fixture
def backups(
    shared_migration: Migrated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dg.DagsterInstance, Path]]:
    """A test instance and a backup folder, the environment pointing at the shared migration."""
    shared_migration.point_env(monkeypatch)
    monkeypatch.setenv("KGV_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.delenv("KGV_BACKUP_AGE_RECIPIENT", raising=False)
    with dg.instance_for_test() as instance:
        yield instance, tmp_path / "backups" / "dumps"


def _run(job: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return defs().resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False)


def _evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK.name
    return evaluation


@pytest.mark.slow
def test_the_nightly_dump_job_dumps_verifies_and_checks(
    backups: tuple[dg.DagsterInstance, Path],
) -> None:
    instance, folder = backups
    result = _run("backup_dump_job", instance)
    assert result.success
    (stored,) = dumps.catalogue(folder)
    assert stored.verified_ok
    (dumped,) = result.asset_materializations_for_node("backups__logical_dump")
    assert dumped.metadata["sha256"].value == stored.manifest.sha256
    assert dumped.metadata["size_bytes"].value == stored.manifest.size
    (tested,) = result.asset_materializations_for_node("backups__dump_verification")
    assert tested.metadata["ok"].value is True
    evaluation = _evaluation(result)
    assert evaluation.passed and evaluation.metadata["newest_verified"].text == stored.name
    text = " ".join(str(m.metadata) for m in (dumped, tested)) + str(evaluation.metadata)
    assert KNOWN_APPLICANT[1] not in text


def _check_after(
    backups: tuple[dg.DagsterInstance, Path], damage: Callable[[dumps.StoredDump], None]
) -> tuple[dg.ExecuteInProcessResult, dg.AssetCheckEvaluation]:
    """The nightly job, ``damage`` done to its dump, then the weekly verify: a failed check."""
    instance, folder = backups
    assert _run("backup_dump_job", instance).success
    (stored,) = dumps.catalogue(folder)
    damage(stored)
    result = _run("backup_verify_job", instance)
    assert not result.success, "blocking: the run fails"
    evaluation = _evaluation(result)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    return result, evaluation


def _taken_27_hours_ago(stored: dumps.StoredDump) -> None:
    stored.manifest.created_at = (datetime.now(UTC) - timedelta(hours=27)).isoformat()
    stored.manifest_path.write_text(stored.manifest.to_json())


def _one_byte_flipped(stored: dumps.StoredDump) -> None:
    data = bytearray(stored.file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.file.write_bytes(bytes(data))


@pytest.mark.slow
def test_the_check_fails_when_the_newest_verified_dump_is_too_old(
    backups: tuple[dg.DagsterInstance, Path],
) -> None:
    _, evaluation = _check_after(backups, _taken_27_hours_ago)
    assert "h old (more than 26 h)" in (evaluation.description or "")
    assert float(evaluation.metadata["newest_verified_age_hours"].value) > 26  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_check_fails_when_the_last_restore_test_failed(
    backups: tuple[dg.DagsterInstance, Path],
) -> None:
    result, evaluation = _check_after(backups, _one_byte_flipped)
    assert "the last restore test" in (evaluation.description or "")
    assert "sha256 does not match" in (evaluation.description or "")
    (repository,) = result.asset_materializations_for_node("backups__repository_verification")
    assert repository.metadata["configured"].value is False
