"""The code location: loads everything under ``kgv_assets/defs`` (no side effects on import).

Cross-cutting policies are applied here, once, over what was loaded: the freshness policy of
the assets the nightly refresh materializes (``kgv_assets.validation.freshness``).
"""

from functools import cache
from pathlib import Path

import dagster as dg

from kgv_assets.validation.freshness import with_freshness


@cache
def _loaded() -> dg.Definitions:
    # Built once per process (~2 s): `kgv migrate` and the sensors' code_location() ask again.
    return with_freshness(dg.load_from_defs_folder(path_within_project=Path(__file__).parent))


@dg.definitions
def defs() -> dg.Definitions:
    """All assets, checks, jobs, sensors, schedules and resources of kgv_assets."""
    return _loaded()
