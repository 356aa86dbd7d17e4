"""The sensor that pushes every finished run's outcome to the Pushgateway.

A run cannot report its own death (a killed worker, a lost pod), so the outcome is pushed by
the daemon, which sees every run end however it ended — including runs that run monitoring
marked failed. It follows the instance's run status events (success, failure, cancellation)
with a cursor, so each outcome is read once; without ``KGV_PUSHGATEWAY_URL`` it skips.
"""

import dagster as dg

from kgv_assets.observability.metrics import gateway, push_run_outcome
from kgv_assets.observability.runs import finished_runs_since


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Pushes the outcome of every finished run (success, failure, cancellation — also runs "
        "that run monitoring marked failed) to the Pushgateway of KGV_PUSHGATEWAY_URL: "
        "kgv_run_success, kgv_run_duration_seconds, kgv_run_end_timestamp_seconds and "
        "kgv_runs_finished per job. Skips when KGV_PUSHGATEWAY_URL is not set; requests no runs."
    ),
)
def run_outcomes_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Push the outcomes of the runs that finished since the last tick."""
    if gateway() is None:
        return dg.SkipReason("KGV_PUSHGATEWAY_URL is not set: no run outcomes to push")
    after = int(context.cursor) if context.cursor else None
    records, cursor = finished_runs_since(context.instance, after)
    pushed = sum(push_run_outcome(context.instance, r, context.log) for r in records)
    if cursor is not None:
        context.update_cursor(str(cursor))
    return dg.SkipReason(f"pushed the latest outcome of {pushed} of {len(records)} jobs")
