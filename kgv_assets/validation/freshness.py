"""How fresh the staged and migrated tables must be while the legacy system is still in use.

Until cut-over the target is kept in sync with the legacy database, and the nightly refresh
(``nightly_refresh_schedule``, 02:30) reloads the two latest years of every dated table, so
the dated tables, ``kgv.event_types`` and the reporting views are materialized at least once a
night. A night missed shows as WARN, two as FAIL: the sync is not running. The small
unpartitioned reference tables are loaded only when they change (the sync compares them on
every tick), so the time since their last load says nothing about staleness: they carry no
policy. Dagster's freshness daemon (started by ``make ui``) evaluates the policy.
"""

import inspect
from datetime import timedelta

import dagster as dg

from kgv_assets.layout import EVENT_TYPES_KEY, REPORTING_VIEWS_KEY

TABLE_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=50), warn_window=timedelta(hours=26)
)
"""Warn when the last materialization is more than 26 hours old, fail after 50 hours."""

REFRESHED_NIGHTLY_KEYS = {EVENT_TYPES_KEY, REPORTING_VIEWS_KEY}
"""The unpartitioned assets the nightly refresh materializes (besides the dated tables)."""


def refreshed_nightly(spec: dg.AssetSpec) -> bool:
    """Whether the nightly refresh materializes the asset: dated tables, event types, views."""
    return spec.partitions_def is not None or spec.key in REFRESHED_NIGHTLY_KEYS


def _with_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    if not refreshed_nightly(spec):
        return spec
    return spec.replace_attributes(freshness_policy=TABLE_FRESHNESS)


def with_freshness(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with ``TABLE_FRESHNESS`` on every asset the nightly refresh materializes.

    The same Definitions otherwise: every other field is passed on as it was loaded.
    """
    fields = {name: getattr(defs, name) for name in inspect.signature(dg.Definitions).parameters}
    assets = dg.map_asset_specs(_with_policy, defs.assets or [])  # type: ignore[arg-type]
    return dg.Definitions(**{**fields, "assets": assets})
