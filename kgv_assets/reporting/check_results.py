"""The data-quality figures: the latest result of every asset check, as recorded by Dagster.

Read generically from the Dagster instance, for whatever checks the definitions hold: per check
its latest status, severity and numeric metadata. A partitioned check's latest run is summed up
over the partitions it evaluated in that run. Only numbers are taken from a check's metadata
(counts, percentages), never its text: sample keys and descriptions stay in the Dagster UI, so
nothing a check author wrote can carry personal data into the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from kgv_assets.reporting.model import CheckFigure

_RUNNING = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.MANAGED,
}


def check_specs(job: dg.JobDefinition) -> list[dg.AssetCheckSpec]:
    """The data-quality checks a job knows (not those of the group ``backups``), by check key.

    Args:
        job: ``context.job_def`` in an asset (full_migration selects every asset, so every
            check), or ``Definitions.resolve_implicit_global_asset_job_def()`` outside a run.
    """
    graph = job.asset_layer.asset_graph
    keys = sorted(graph.asset_check_keys, key=lambda k: k.to_user_string())
    # The backups' own check judges the operators' backups, not the migration (issue 14).
    keys = [k for k in keys if graph.get(k.asset_key).group_name != "backups"]
    return [graph.get_check_spec(k) for k in keys]


def _numbers(metadata: dict[str, dg.MetadataValue]) -> dict[str, float]:
    return {
        name: value.value
        for name, value in metadata.items()
        if isinstance(value, dg.IntMetadataValue | dg.FloatMetadataValue)
        and value.value is not None
    }


def _summed(evaluations: Sequence[dg.AssetCheckEvaluation]) -> dict[str, float]:
    if len(evaluations) == 1:
        return _numbers(dict(evaluations[0].metadata))
    total: dict[str, float] = {}
    for e in evaluations:
        for name, value in e.metadata.items():
            if isinstance(value, dg.IntMetadataValue) and value.value is not None:
                total[name] = total.get(name, 0) + value.value
    return total


class _RunEvaluations:
    """The check evaluations of a run, read once per run."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.by_run: dict[str, list[dg.AssetCheckEvaluation]] = {}

    def of(self, run_id: str, key: dg.AssetCheckKey) -> list[dg.AssetCheckEvaluation]:
        if run_id not in self.by_run:
            entries = self.instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
            self.by_run[run_id] = [
                e.asset_check_evaluation for e in entries if e.asset_check_evaluation
            ]
        latest: dict[str | None, dg.AssetCheckEvaluation] = {}
        for e in self.by_run[run_id]:
            if e.asset_key == key.asset_key and e.check_name == key.name:
                latest[e.partition] = e  # later evaluations of a partition replace earlier ones
        return list(latest.values())


def _pending_status(instance: dg.DagsterInstance, run_id: str) -> str:
    run = instance.get_run_by_id(run_id)
    if run is None or run.status in _RUNNING:
        return "pending"
    return "skipped" if run.status == dg.DagsterRunStatus.SUCCESS else "execution failed"


def latest_check_results(
    instance: dg.DagsterInstance, specs: Iterable[dg.AssetCheckSpec]
) -> list[CheckFigure]:
    """The latest recorded result of each check in ``specs``.

    Status: ``passed``/``failed`` (evaluated), ``pending`` (planned by a run still going),
    ``skipped`` (its run succeeded without evaluating it, e.g. a blocking check upstream
    failed), ``execution failed`` (its run failed before it could report), ``never run``.
    """
    runs = _RunEvaluations(instance)
    out = []
    for spec in specs:
        key = spec.key
        name = (key.asset_key.to_user_string(), key.name)
        record = instance.get_latest_asset_check_evaluation_record(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if record is None:
            out.append(CheckFigure(*name, "never run", None, spec.blocking, None, None))
            continue
        if evaluation is None:
            status = _pending_status(instance, record.run_id)
            out.append(
                CheckFigure(
                    *name, status, None, spec.blocking, record.run_id, record.create_timestamp
                )
            )
            continue
        evaluations = (
            runs.of(record.run_id, key) if evaluation.partition is not None else [evaluation]
        ) or [evaluation]
        failed = [e for e in evaluations if not e.passed]
        worst = (
            dg.AssetCheckSeverity.ERROR
            if any(e.severity == dg.AssetCheckSeverity.ERROR for e in failed)
            else (failed or evaluations)[0].severity
        )
        out.append(
            CheckFigure(
                *name,
                "failed" if failed else "passed",
                worst.value,
                spec.blocking,
                record.run_id,
                record.event.timestamp if record.event else record.create_timestamp,
                partitions_evaluated=len(evaluations),
                partitions_failed=len(failed),
                metadata=_summed(evaluations),
            )
        )
    return out
