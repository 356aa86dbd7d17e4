"""The Kubernetes deployment (deploy/helm) against dagster-k8s's own config schemas.

``values.yaml`` (the official Dagster chart's values) is rendered into the instance
configuration the way the chart's templates render it (run launcher, run coordinator, external
PostgreSQL, additionalInstanceConfig), and must equal ``dagster-instance.yaml``. Each block is
then validated by Dagster itself at the pinned versions: the K8sRunLauncher block against
``K8sRunLauncher.config_type()``, the coordinator and storage against theirs, the instance's
run monitoring and retries by loading an instance with them, and ``k8s-job-executor.yaml``
against ``k8s_job_executor``'s schema. Helm is not available here, so the chart's own
rendering is not run.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster_k8s import K8sRunLauncher, k8s_job_executor
from dagster_postgres import DagsterPostgresStorage

ROOT = Path(__file__).resolve().parents[2]
HELM = ROOT / "deploy" / "helm"
VALUES = yaml.safe_load((HELM / "values.yaml").read_text())
INSTANCE = yaml.safe_load((HELM / "dagster-instance.yaml").read_text())
RELEASE = NAMESPACE = "kgv"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def render_run_launcher(values: dict[str, Any]) -> dict[str, Any]:
    """The chart's K8sRunLauncher block (templates/helpers/instance/_run-launcher.tpl)."""
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {
        "load_incluster_config": k8s["loadInclusterConfig"],
        "job_namespace": k8s.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": values["global"]["serviceAccountName"],
        "dagster_home": values.get("global", {}).get("dagsterHome", "/opt/dagster/dagster_home"),
        "instance_config_map": f"{RELEASE}-dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
    }
    if k8s.get("envSecrets"):
        config["env_secrets"] = [s["name"] for s in k8s["envSecrets"]]
    if k8s.get("envConfigMaps"):
        config["env_config_maps"] = [c["name"] for c in k8s["envConfigMaps"]]
    for key in ("labels", "resources", "securityContext", "volumes", "volumeMounts", "envVars"):
        if k8s.get(key):
            config[_snake(key)] = k8s[key]
    if k8s.get("runK8sConfig"):
        config["run_k8s_config"] = {_snake(k): v for k, v in k8s["runK8sConfig"].items()}
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def render_instance(values: dict[str, Any]) -> dict[str, Any]:
    """The instance dagster.yaml the chart writes for ``values`` (templates/configmap-instance)."""
    pg = values["postgresql"]
    assert not pg["enabled"], "the migration's PostgreSQL is external"
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    instance = {
        "scheduler": {"module": "dagster.core.scheduler", "class": "DagsterDaemonScheduler"},
        "run_launcher": render_run_launcher(values),
        "storage": {
            "postgres": {
                "postgres_db": {
                    "username": pg["postgresqlUsername"],
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "hostname": pg["postgresqlHost"],
                    "db_name": pg["postgresqlDatabase"],
                    "port": pg["service"]["port"],
                    "params": pg.get("postgresqlParams", {}),
                }
            }
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "max_concurrent_runs": queued["maxConcurrentRuns"],
                "tag_concurrency_limits": queued["tagConcurrencyLimits"],
            },
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }
    daemon = values["dagsterDaemon"]
    assert not daemon["runMonitoring"]["enabled"] and not daemon["runRetries"]["enabled"], (
        "written by additionalInstanceConfig, so the chart must not write them too"
    )
    extra = values.get("additionalInstanceConfig", {})
    assert not set(extra) & set(instance), "additionalInstanceConfig duplicates a chart block"
    return {**instance, **extra}


def validate(schema: Any, config: dict[str, Any]) -> Mapping[str, Any]:
    """Validate ``config`` against a Dagster config ``schema`` with Dagster's own validator."""

    @dg.op(name="block", config_schema=schema)
    def block() -> None:
        pass

    @dg.job(name="validate_block")
    def job() -> None:
        block()

    return dg.validate_run_config(job, {"ops": {"block": {"config": config}}})


def test_the_values_render_the_shipped_instance_configuration() -> None:
    assert render_instance(VALUES) == INSTANCE


def test_the_run_launcher_block_is_valid_for_dagster_k8s() -> None:
    config = INSTANCE["run_launcher"]["config"]
    assert validate(K8sRunLauncher.config_type(), config)
    with pytest.raises(dg.DagsterInvalidConfigError):
        validate(K8sRunLauncher.config_type(), {**config, "job_namspace": "typo"})


def test_the_coordinator_and_storage_blocks_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "from-the-secret")  # the chart sets it from a Secret
    coordinator = INSTANCE["run_coordinator"]
    assert validate(dg.QueuedRunCoordinator.config_type(), coordinator["config"])
    assert {"key": "kgv/run_kind", "limit": 1} in coordinator["config"]["tag_concurrency_limits"]
    assert validate(DagsterPostgresStorage.config_type(), INSTANCE["storage"]["postgres"])


def test_the_instance_loads_with_the_supervision_settings() -> None:
    shipped = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    blocks = {k: INSTANCE[k] for k in ("run_coordinator", "run_monitoring", "run_retries")}
    with dg.instance_for_test(overrides=blocks) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings == INSTANCE["run_monitoring"]
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
    # the same supervision as on one machine, but for slower starts on a cluster
    for key, value in INSTANCE["run_retries"].items():
        assert shipped["run_retries"][key] == value
    assert (
        INSTANCE["run_monitoring"]["start_timeout_seconds"]
        >= (shipped["run_monitoring"]["start_timeout_seconds"])
    )
    assert shipped["run_coordinator"] == INSTANCE["run_coordinator"]


def test_the_step_executor_config_is_valid_for_k8s_job_executor() -> None:
    run_config = yaml.safe_load((HELM / "k8s-job-executor.yaml").read_text())

    @dg.op
    def step() -> None:
        pass

    @dg.job(executor_def=k8s_job_executor)
    def on_k8s() -> None:
        step()

    assert dg.validate_run_config(on_k8s, run_config)
    broken = {"execution": {"config": {**run_config["execution"]["config"], "max_pods": 4}}}
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(on_k8s, broken)
    steps = set(run_config["execution"]["config"]["per_step_k8s_config"])
    from kgv_assets.definitions import defs

    job = defs().resolve_job_def("full_migration")
    assert steps <= {n.name for n in job.nodes}


def test_the_user_deployment_runs_the_image_code_server() -> None:
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]
    args = deployment["codeServerArgs"]
    assert args[args.index("-m") + 1] == project["module_name"]
    assert args[args.index("--location-name") + 1] == project["code_location_name"]
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert f'"-p", "{deployment["port"]}"' in dockerfile  # the HEALTHCHECK's and CMD's port
    assert (
        deployment["envSecrets"] == VALUES["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]
    )
    text = (HELM / "values.yaml").read_text()
    assert not re.search(r"(?i)password\s*:\s*\S", text.replace("postgresql-password", ""))
