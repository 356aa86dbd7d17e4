"""How fresh the staged and migrated tables must be while the legacy system is still in use.

Until cut-over the target is kept in sync with the legacy database, and the nightly refresh
(``nightly_refresh_schedule``, 02:30) reloads the two latest years of every dated table, so
the dated tables, ``kgv.event_types`` and the reporting views are materialized at least once a
night. A night missed shows as WARN, two as FAIL: the sync is not running. The small
unpartitioned reference tables are loaded only when they change (the sync compares them on
every tick), so the time since their last load says nothing about staleness: they carry no
policy. Dagster's freshness daemon (started by ``make ui``) evaluates the policy.
"""

from datetime import timedelta

import dagster as dg

TABLE_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=50), warn_window=timedelta(hours=26)
)
"""Warn when the last materialization is more than 26 hours old, fail after 50 hours."""
