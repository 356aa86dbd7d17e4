"""The asset checks and the ``validate`` job as Dagster runs them, after a real full migration.

Covers: which checks exist (a predicate name each, blocking where they can fail with ERROR,
freshness policies on the tables refreshed nightly); ``full_migration`` with every check
included passes all of them except the WARN checks that flag the dirt planted in the demo
data, and those report counts and sample keys; a failed blocking reconciliation keeps the
downstream assets from running; ``validate`` runs only checks, in process and through the real
CLI (exit code 0, and non-zero on an ERROR failure in the partitions it selects);
materializations report the columns PostgreSQL has and ``column_schema_change`` compares runs,
not partitions; and no name of a known applicant reaches the Dagster event log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kgv_assets.definitions import defs
from kgv_assets.defs.checks.schema import schema_change_checks
from kgv_assets.layout import LOADED_TABLES
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.demo_data import KNOWN_APPLICANT
from kgv_assets.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    all_partitions_tags,
    register_partition_keys,
)
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets_tests.conftest import (
    Migrated,
    copy_database,
    dagster_env,
    dagster_job_execute,
    drop_database,
)

pytestmark = pytest.mark.slow
LOADED = [t.name for t in LOADED_TABLES]
DIRT_FLAGS = {
    # check → the planted dirt (kgv_assets.legacy.dirt) it must flag, as WARN
    "applications_values_converted": "unreadable birthdays, e-mails, phones, postal codes, flags",
    "applications_confirmed_after_applying": "confirmation before application",
    "applications_waiting_list_numbers_unique": "duplicate waiting-list number among active",
    "applications_file_references_linked": "file reference garbage",
    "application_history_values_converted": "sizes, DST times",
    "cadastral_districts_values_converted": "orphan cadastral district",
    "district_cadastral_links_values_converted": "a link whose name differs",
    "file_references_values_converted": "year missing or zero",
    "identifiers_values_converted": "orphan login",
    "users_values_converted": "flag outside J/N/1/0",
    "event_types_known": "unknown history event codes",
}


@pytest.fixture(scope="module")
def migrated(shared_migration: Migrated) -> Iterator[Migrated]:
    """The session's full migration, the environment pointing at it for this module."""
    with pytest.MonkeyPatch.context() as mp:
        shared_migration.point_env(mp)
        yield shared_migration


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    out = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            assert isinstance(evaluation, dg.AssetCheckEvaluation)
            out[f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"] = evaluation
    return out


def _check_keys() -> set[str]:
    # The data-quality checks: those of full_migration (the backups' check runs in its jobs).
    graph = defs().resolve_job_def("full_migration").asset_layer.asset_graph
    return {k.to_user_string() for k in graph.asset_check_keys}


def test_every_table_has_its_checks_and_the_dated_ones_a_freshness_policy() -> None:
    graph = defs().resolve_asset_graph()
    specs = {k.to_user_string(): graph.get_check_spec(k) for k in graph.asset_check_keys}
    for target in LOADED:
        for check in ("reconciled", "matches_source", "keys_unique", "values_converted"):
            assert f"kgv/{target}:{target}_{check}" in specs
        assert f"kgv/{target}:column_schema_change" in specs
    for t in TABLES:
        assert f"legacy/{t.name}:{t.name.lower()}_reconciled" in specs
        assert f"legacy/{t.name}:column_schema_change" in specs
    checked_assets = {s.asset_key for s in specs.values()}
    for key in graph.get_all_asset_keys():
        if key.path[0] in ("kgv", "legacy"):
            assert key in checked_assets, key
            # Refreshed nightly: a freshness policy. Reference tables load only on change.
            nightly = {"kgv/event_types", "kgv/reporting_views"}
            refreshed = graph.get(key).partitions_def is not None or key.to_user_string() in nightly
            assert (graph.get(key).freshness_policy is not None) == refreshed, key
    for name, spec in specs.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.name), name
        if spec.name.endswith(("_reconciled", "_matches_source", "_keys_unique", "_resolve")):
            assert spec.blocking, name
        if spec.name.endswith("_values_converted") or spec.name in DIRT_FLAGS:
            assert not spec.blocking, name


def test_full_migration_passes_every_check_but_the_planted_dirt(migrated: Migrated) -> None:
    assert migrated.result is not None
    evaluations = _evaluations(migrated.result)
    assert set(evaluations) == _check_keys()
    failed = {k.split(":")[1]: e for k, e in evaluations.items() if not e.passed}
    assert set(failed) == set(DIRT_FLAGS)
    for name, evaluation in failed.items():
        assert evaluation.severity == dg.AssetCheckSeverity.WARN, name
        numbers = {k: v.value for k, v in evaluation.metadata.items()}
        assert any(
            k in numbers and int(numbers[k]) > 0  # type: ignore[arg-type]  # a count
            for k in ("violations", "rows_with_raw_values", "invalid_values")
        ), name
        assert any(k.endswith("percent") for k in numbers), name
        assert "sample_keys" in evaluation.metadata, name
        assert evaluation.description, name
    reconciled = evaluations["kgv/applications:applications_reconciled"]
    keys = migrated.instance.get_dynamic_partitions("legacy_year")
    assert reconciled.metadata["scope"].value == f"partitions {keys[0]} … {keys[-1]} ({len(keys)})"
    assert isinstance(reconciled.metadata["per_partition"], dg.TableMetadataValue)


def test_a_failed_reconciliation_stops_what_is_downstream(
    migrated: Migrated, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_database(migrated.url, "kgv_checks_broken")
    try:
        with psycopg.connect(copy, autocommit=True) as conn:
            conn.execute(
                'DELETE FROM staging."Antrag" WHERE ctid = (SELECT min(ctid) FROM staging."Antrag")'
            )
        monkeypatch.setenv("KGV_PG_URL", copy)
        antrag = dg.AssetKey(["legacy", "Antrag"])
        downstream = [
            dg.AssetKey(["kgv", "applications"]),
            dg.AssetKey(["kgv", "application_history"]),
        ]
        job = dg.define_asset_job(
            "antrag_and_downstream",
            selection=dg.AssetSelection.checks_for_assets(antrag)
            | dg.AssetSelection.assets(*downstream),
            executor_def=dg.in_process_executor,
        )
        definitions = dg.Definitions.merge(defs(), dg.Definitions(jobs=[job]))
        result = definitions.resolve_job_def(job.name).execute_in_process(
            instance=migrated.instance,
            tags=all_partitions_tags(migrated.instance),
            raise_on_error=False,
        )
        assert not result.success
        check = _evaluations(result)["legacy/Antrag:antrag_reconciled"]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
        assert check.metadata["rows_unaccounted"].value == 1
        assert result.get_asset_materialization_events() == []
        started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
        assert not started & {"kgv__applications", "kgv__application_history"}
    finally:
        drop_database(copy)


@pytest.fixture(scope="module")
def validated(migrated: Migrated) -> dg.ExecuteInProcessResult:
    """One in-process run of ``validate`` (all partitions) after the migration."""
    return defs().resolve_job_def("validate").execute_in_process(instance=migrated.instance)


def test_validate_runs_every_check_and_nothing_else(validated: dg.ExecuteInProcessResult) -> None:
    result = validated
    assert result.success
    evaluations = _evaluations(result)
    assert set(evaluations) == _check_keys()
    assert result.get_asset_materialization_events() == []
    assert {k.split(":")[1] for k, e in evaluations.items() if not e.passed} == set(DIRT_FLAGS)
    scope = evaluations["kgv/applications:applications_matches_source"].metadata["scope"]
    assert scope.value == "all partitions"


def test_validate_cli_exits_non_zero_on_an_error_in_the_selected_partitions(
    migrated: Migrated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_database(migrated.url, "kgv_checks_cli")
    try:
        env = dagster_env(tmp_path / "dagster_home", copy, migrated.source_url)
        monkeypatch.setenv("KGV_PG_URL", copy)
        monkeypatch.setenv("KGV_DAGSTER_PG_URL", copy)  # the instance of dagster.yaml
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            source = LegacySourceResource(url=migrated.source_url)
            register_partition_keys(instance, source.partition_keys())

        with psycopg.connect(copy, autocommit=True) as conn:
            broken, other = conn.execute(
                "SELECT min(legacy_partition), max(legacy_partition) FROM kgv.entry_numbers"
                " WHERE legacy_partition <> 'undated'"
            ).fetchone() or ("", "")
            conn.execute(
                "DELETE FROM kgv.entry_numbers WHERE id = (SELECT id FROM kgv.entry_numbers"
                " WHERE legacy_partition = %s ORDER BY id LIMIT 1)",
                (broken,),
            )
        done = dagster_job_execute(env, "validate", {"dagster/partition": other})
        assert done.returncode == 0, done.stderr[-3000:]
        done = dagster_job_execute(env, "validate", {"dagster/partition": broken})
        assert done.returncode != 0
        assert "entry_numbers_reconciled" in done.stdout + done.stderr
        assert "entry_numbers_matches_source" in done.stdout + done.stderr
    finally:
        drop_database(copy)


NEEDLES = [*KNOWN_APPLICANT, " ".join(KNOWN_APPLICANT)]


def _mentions(instance: dg.DagsterInstance) -> list[str]:
    """Where a known name appears: every run, every event record, every file of the instance."""
    found = []
    for run in instance.get_runs():
        records = [dg.serialize_value(run), *map(dg.serialize_value, instance.all_logs(run.run_id))]
        for text in records:
            readable = json.dumps(json.loads(text), ensure_ascii=False).casefold()
            found += [f"run {run.run_id}: {n}" for n in NEEDLES if n.casefold() in readable]
    for path in Path(instance.root_directory).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for n in NEEDLES:
                forms = {n.encode(), json.dumps(n).strip('"').encode()}
                found += [f"{path.name}: {n}" for form in forms if form in data]
    return found


def test_the_scan_finds_a_name_that_was_logged() -> None:
    @dg.op
    def careless(context) -> None:
        context.log.info("applicant %s", " ".join(KNOWN_APPLICANT))

    @dg.job
    def leaking() -> None:
        careless()

    with dg.instance_for_test() as instance:
        assert leaking.execute_in_process(instance=instance).success
        assert _mentions(instance)


def test_no_known_name_reaches_the_event_log(
    migrated: Migrated, validated: dg.ExecuteInProcessResult
) -> None:
    with psycopg.connect(migrated.url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM kgv.applications WHERE first_name = %s AND last_name = %s",
            KNOWN_APPLICANT,
        ).fetchone() == (1,), "the applicant is in the data the checks read"
    assert validated.success
    runs = {r.job_name for r in migrated.instance.get_runs()}
    assert {"full_migration", "validate"} <= runs
    assert _mentions(migrated.instance) == []


def test_materializations_report_the_columns_postgresql_has(migrated: Migrated) -> None:
    assert migrated.result is not None
    schemas = {
        e.asset_key.to_user_string(): e.metadata["dagster/column_schema"].value
        for e in (m.materialization for m in migrated.result.get_asset_materialization_events())
        if "dagster/column_schema" in e.metadata
    }
    assert {f"kgv/{t}" for t in LOADED} | {f"legacy/{t.name}" for t in TABLES} <= set(schemas)
    applications = schemas["kgv/applications"]
    assert isinstance(applications, dg.TableSchema)
    columns = {c.name: c for c in applications.columns}
    assert columns["email"].type == "kgv.email_address"
    assert columns["legacy_hash"].type == "bigint"
    assert not columns["legacy_hash"].constraints.nullable
    assert columns["email"].description and "an_EMail" in columns["email"].description


def _table(*names: str) -> dg.AssetsDefinition:
    """Asset ``table`` (two partitions) whose materializations report columns ``names``."""

    @dg.asset(name="table", partitions_def=dg.StaticPartitionsDefinition(["a", "b"]))
    def table() -> dg.MaterializeResult:
        schema = dg.TableSchema(columns=[dg.TableColumn(n, "text") for n in names])
        return dg.MaterializeResult(metadata={"dagster/column_schema": schema})

    return table


def test_column_schema_change_compares_the_last_two_runs() -> None:
    check = schema_change_checks([dg.AssetKey("table")])
    tags = {RANGE_START_TAG: "a", RANGE_END_TAG: "b"}

    def run(*names: str) -> dg.AssetCheckEvaluation:
        table = _table(*names)
        assert dg.materialize([table], instance=instance, tags=tags).success
        result = dg.materialize(
            [table, check], instance=instance, selection=dg.AssetSelection.all_asset_checks()
        )
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    with dg.instance_for_test() as instance:
        first = run("id", "name")
        assert first.passed and first.metadata["runs_compared"].value == 1
        assert run("id", "name").passed  # two partitions per run: compares runs, not partitions
        changed = run("id", "name", "email")
        assert not changed.passed and changed.severity == dg.AssetCheckSeverity.WARN
        assert changed.description == "added email (text)"
