"""The runs that finished since a cursor, read from the instance's run status events."""

from __future__ import annotations

import dagster as dg

OUTCOME_EVENTS = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
# Without a cursor (the first tick): the latest outcomes only, not the whole history.
FIRST_EVENTS = 20
EVENTS_PER_CALL = 200


def finished_runs_since(
    instance: dg.DagsterInstance, after_storage_id: int | None
) -> tuple[list[dg.RunRecord], int | None]:
    """The latest finished run of each job since the event ``after_storage_id``, and a cursor.

    Runs are returned oldest first, one per job (a job's later outcome replaces its earlier
    one in the Pushgateway anyway); the cursor is the storage id of the newest event read.
    """
    events = []
    for event_type in OUTCOME_EVENTS:
        if after_storage_id is None:
            found = instance.fetch_run_status_changes(event_type, limit=FIRST_EVENTS)
        else:
            found = instance.fetch_run_status_changes(
                dg.RunStatusChangeRecordsFilter(event_type, after_storage_id=after_storage_id),
                limit=EVENTS_PER_CALL,
                ascending=True,
            )
        events.extend(found.records)
    events.sort(key=lambda e: e.storage_id)
    cursor = max((e.storage_id for e in events), default=after_storage_id)
    run_ids = list(dict.fromkeys(e.run_id for e in events))
    if not run_ids:
        return [], cursor
    records = {r.dagster_run.run_id: r for r in instance.get_run_records(dg.RunsFilter(run_ids))}
    latest = {records[i].dagster_run.job_name: records[i] for i in run_ids if i in records}
    return sorted(latest.values(), key=lambda r: r.end_time or 0.0), cursor
