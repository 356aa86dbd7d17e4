"""The migration/report asset in the definitions: its group, its place at the end of the graph.

No database: loads the code location and checks that the report depends on every target asset,
belongs to the group ``reports`` and is part of ``full_migration`` (so it runs last there).
"""

from __future__ import annotations

import dagster as dg

from kgv_assets.definitions import defs

REPORT = dg.AssetKey(["migration", "report"])


def test_the_report_is_downstream_of_every_target_asset() -> None:
    graph = defs().resolve_asset_graph()
    node = graph.get(REPORT)
    assert node.group_name == "reports"
    assert node.partitions_def is None
    targets = {k for k in graph.get_all_asset_keys() if k.path[0] == "kgv"}
    assert targets and targets <= set(node.parent_keys)
    assert not node.child_keys, "nothing depends on the report"


def test_full_migration_ends_with_the_report() -> None:
    job = defs().resolve_job_def("full_migration")
    assert REPORT in job.asset_layer.executable_asset_keys
