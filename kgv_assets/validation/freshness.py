"""How fresh the staged and migrated tables must be while the legacy system is still in use.

Until cut-over the target is kept in sync with the legacy database, so a table that has not
been materialized for a while is stale. Dagster evaluates the policy (its freshness daemon,
running with ``make ui``) and shows each asset as fresh, warning or failing.
"""

from datetime import timedelta

import dagster as dg

TABLE_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=24), warn_window=timedelta(hours=6)
)
"""Warn when a table was last materialized more than 6 hours ago, fail after a day."""
