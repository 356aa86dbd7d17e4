"""The code location: loads everything under ``kgv_assets/defs`` (no side effects on import)."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """All assets, checks, jobs, sensors, schedules and resources of kgv_assets."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
