"""Change detection and run planning, without a database: fingerprints in, runs out.

Which partitions count as changed against recorded fingerprints, against row counts only
(loads from before fingerprints were recorded), what the sensor's cursor filters out, and how
changed partitions become runs: contiguous ranges together, tables sharing a range in one run,
reference tables first, tables referencing rows of any year reloaded over all partitions last,
every selection resolvable against the real code location, and the fingerprints a run carries
for its staging loads (fresh, of the same strategy and complete, or not used at all).
"""

from __future__ import annotations

import json
from dataclasses import replace

import dagster as dg
import pytest

from kgv_assets.definitions import defs
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.fingerprint import Fingerprint
from kgv_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from kgv_assets.sync.changes import (
    Baseline,
    Changes,
    decode_cursor,
    decode_run_fingerprints,
    detect_changes,
    encode_cursor,
    encode_run_fingerprints,
)
from kgv_assets.sync.runs import FINGERPRINTS_TAG, contiguous_runs, plan_refreshes, run_requests

ORDER = ["undated", *map(str, range(2000, 2011))]


def fp(rows: int, seed: int = 0) -> Fingerprint:
    return Fingerprint(rows, 1000 + seed, 2000 - seed)


def test_a_changed_partition_is_one_whose_fingerprint_differs() -> None:
    loaded = {"Verlauf": {"2001": fp(3), "2002": fp(4), "2003": fp(1)}, "Bezirk": {"all": fp(9)}}
    current = {
        "Verlauf": {"2001": fp(3), "2002": fp(4, seed=1), "2004": fp(1)},  # update, delete, insert
        "Bezirk": {"all": fp(9)},
    }
    changes = detect_changes(current, Baseline(loaded))
    assert changes.partitions == {"Verlauf": ["2002", "2003", "2004"]}
    assert changes.reference_tables == []
    assert not detect_changes(loaded, Baseline(loaded)), "no change, nothing to do"


def test_tables_never_migrated_are_left_to_the_full_migration() -> None:
    current = {"Verlauf": {"2001": fp(3)}, "Antrag": {"2001": fp(2)}}
    assert not detect_changes(current, Baseline())
    changes = detect_changes(current, Baseline({"Antrag": {"2001": fp(1)}}))
    assert changes.partitions == {"Antrag": ["2001"]}


def test_loads_without_fingerprints_are_compared_by_row_count() -> None:
    baseline = Baseline(
        fingerprints={"Verlauf": {"2001": fp(3)}},
        counts={"Verlauf": {"2001": 3, "2002": 5, "2003": 0}, "Personen": {"all": 7}},
    )
    current = {
        "Verlauf": {"2001": fp(3), "2002": fp(5, seed=7), "2003": fp(2)},
        "Personen": {"all": fp(8)},
    }
    changes = detect_changes(current, baseline)
    # 2002: same count, content unknown → not seen (the weekly validation's job).
    assert changes.partitions == {"Verlauf": ["2003"]}
    assert changes.reference_tables == ["Personen"]


def test_fingerprints_of_another_strategy_are_compared_by_row_count_and_rebaselined() -> None:
    """A server upgrade changes every checksum: no reload storm, a re-baseline instead."""
    old = {"Verlauf": {"2001": fp(3), "2002": fp(4), "2003": fp(5)}, "Bezirk": {"all": fp(9)}}
    loaded = {t: {k: replace(f, strategy="mssql2005_sha1_pieces") for k, f in p.items()}
              for t, p in old.items()}  # fmt: skip
    upgraded = {  # other checksums (seed) under the new strategy; 2003 lost a row
        "Verlauf": {"2001": fp(3, 5), "2002": fp(4, 6), "2003": fp(4, 7)},
        "Bezirk": {"all": fp(9, 8)},
    }
    current = {t: {k: replace(f, strategy="mssql2016_sha256") for k, f in p.items()}
               for t, p in upgraded.items()}  # fmt: skip
    changes = detect_changes(current, Baseline(loaded))
    assert changes.partitions == {"Verlauf": ["2003"]}, "only the count that differs reloads"
    assert changes.reference_tables == []
    assert changes.rebaseline == {"Verlauf": ["2001", "2002"], "Bezirk": ["all"]}
    assert "re-baselined 3 unchanged partitions" in (changes.describe_rebaseline() or "")
    # Once re-baselined, the same strategy compares whole fingerprints again.
    rebaselined = {t: dict(p) for t, p in current.items()}
    again = detect_changes(current, Baseline(rebaselined))
    assert not again and not again.rebaseline and again.describe_rebaseline() is None
    # Recorded before strategies were (NULL): the same re-baseline, once.
    assert detect_changes(current, Baseline(old)).rebaseline == changes.rebaseline


def test_the_cursor_filters_what_was_already_requested() -> None:
    loaded = {"Antrag": {"2001": fp(1), "2002": fp(1)}}
    current = {"Antrag": {"2001": fp(2), "2002": fp(3)}}
    seen = {"Antrag": {"2001": fp(2), "2002": fp(1)}}
    changes = detect_changes(current, Baseline(loaded), seen=seen)
    assert changes.partitions == {"Antrag": ["2002"]}
    unfinished = detect_changes(loaded, Baseline(loaded), unfinished={"Antrag": {"2001"}})
    assert unfinished.partitions == {"Antrag": ["2001"]}


def test_the_cursor_is_compact_json_and_round_trips() -> None:
    current = {
        t.name: {k: replace(fp(10, i), strategy="sqlite_blake2b") for i, k in enumerate(ORDER)}
        for t in TABLES
    }
    cursor = encode_cursor(current, tick=41)
    assert decode_cursor(cursor) == (current, 41), "the strategy round-trips too"
    assert json.loads(cursor)["v"] == 2 and " " not in cursor
    assert decode_cursor(None) == (None, 0)
    assert decode_cursor(json.dumps({"v": 99})) == (None, 0), "another version: start afresh"


def test_partitions_split_into_contiguous_runs_in_the_instance_order() -> None:
    assert contiguous_runs(["2003", "2001", "2002", "2007", "undated"], ORDER) == [
        ("undated",),
        ("2001", "2002", "2003"),
        ("2007",),
    ]
    # The instance's order, not the sort order: 1990 registered late sits after 2010.
    assert contiguous_runs(["2010", "1990"], [*ORDER, "1990"]) == [("2010", "1990")]


@pytest.fixture(scope="module")
def repository() -> dg.RepositoryDefinition:
    return defs().get_repository_def()


def _keys(request: dg.RunRequest) -> set[str]:
    return {k.to_user_string() for k in request.asset_selection or []}


def test_runs_follow_the_dependencies(repository: dg.RepositoryDefinition) -> None:
    changes = Changes(
        {"Verlauf": ["2002", "2003", "2007"], "Eingangsnummer": ["2002", "2003"]},
        ["Personen"],
    )
    requests = run_requests(changes, ORDER, repository, key_prefix="t")
    assert [r.run_key for r in requests] == ["t:0", "t:1", "t:2"]
    reference, shared, alone = requests
    assert reference.partition_key is None and RANGE_START_TAG not in reference.tags
    assert {"legacy/Personen", "kgv/users", "kgv/identifiers"} <= _keys(reference)
    assert (shared.tags[RANGE_START_TAG], shared.tags[RANGE_END_TAG]) == ("2002", "2003")
    assert {"legacy/Verlauf", "legacy/Eingangsnummer", "kgv/application_history"} <= _keys(shared)
    assert alone.partition_key == "2007"
    assert "legacy/Eingangsnummer" not in _keys(alone)
    assert all(r.tags["kgv/run_kind"] == "sync" for r in requests)


def test_tables_referencing_rows_of_any_year_reload_over_all_partitions_last(
    repository: dg.RepositoryDefinition,
) -> None:
    requests = run_requests(Changes({"Antrag": ["2004"]}), ORDER, repository)
    first, last = requests
    assert first.partition_key == "2004"
    assert {"legacy/Antrag", "kgv/applications"} <= _keys(first)
    assert "kgv/application_history" not in _keys(first)
    assert "kgv/application_history" in _keys(last) and "legacy/Antrag" not in _keys(last)
    assert (last.tags[RANGE_START_TAG], last.tags[RANGE_END_TAG]) == (ORDER[0], ORDER[-1])


@pytest.mark.parametrize("t", TABLES, ids=lambda t: t.name)
def test_every_table_plans_valid_runs(t, repository: dg.RepositoryDefinition) -> None:
    changes = Changes({t.name: ["2001"]}) if t.is_partitioned else Changes({}, [t.name])
    refreshes = plan_refreshes(changes, ORDER)
    requests = run_requests(changes, ORDER, repository)
    graph = repository.asset_graph
    for refresh, request in zip(refreshes, requests, strict=True):
        partitioned = {k for k in request.asset_selection or [] if graph.get(k).partitions_def}
        assert bool(partitioned) == (refresh.partitions is not None)
    assert f"legacy/{t.name}" in _keys(requests[0])


def test_a_run_carries_the_pass_fingerprints_of_what_it_stages(
    repository: dg.RepositoryDefinition,
) -> None:
    st = "sqlite_siphash"
    current = {
        "Verlauf": {"2003": replace(fp(5, 1), strategy=st), "2004": replace(fp(6), strategy=st)},
        "Personen": {"all": replace(fp(9), strategy=st)},
    }
    changes = Changes({"Verlauf": ["2003", "2007"]}, ["Personen"])
    requests = run_requests(changes, ORDER, repository, fingerprints=(current, 1000.0))
    tagged = [r for r in requests if FINGERPRINTS_TAG in r.tags]
    assert len(tagged) == 3 and all(r.tags["kgv/sync_step"] != "dependents" for r in tagged)
    reference, in_2003, in_2007 = (r.tags[FINGERPRINTS_TAG] for r in tagged)
    assert decode_run_fingerprints(reference, "Personen", None, st, 1001.0) == current["Personen"]
    assert decode_run_fingerprints(in_2003, "Verlauf", ["2003"], st, 1001.0) == {
        "2003": current["Verlauf"]["2003"]
    }
    # 2007 has no rows in the source: known empty, not unknown
    assert decode_run_fingerprints(in_2007, "Verlauf", ["2007"], st, 1001.0) == {}


def test_run_fingerprints_are_used_only_fresh_complete_and_of_the_same_strategy() -> None:
    st = "sqlite_siphash"
    current = {"Verlauf": {"2003": replace(fp(5), strategy=st)}}
    tag = encode_run_fingerprints(current, ["Verlauf"], ["2003"], 1000.0)
    assert decode_run_fingerprints(tag, "Verlauf", ["2003"], st, 1100.0) is not None
    assert decode_run_fingerprints(tag, "Verlauf", ["2003"], st, 1000.0 + 3600) is None, "stale"
    assert decode_run_fingerprints(tag, "Verlauf", ["2003"], "mssql2016_sha256", 1100.0) is None
    assert decode_run_fingerprints(tag, "Verlauf", ["2003", "2004"], st, 1100.0) is None
    assert decode_run_fingerprints(tag, "Antrag", ["2003"], st, 1100.0) is None
    assert decode_run_fingerprints(None, "Verlauf", ["2003"], st, 1100.0) is None
