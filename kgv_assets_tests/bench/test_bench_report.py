"""The benchmark's targets and, for each one not met, what is left (``bench.report``).

Built from a run's summary with chosen figures, so each sentence can be checked against the
arithmetic it claims: the budget a target allows, how far the run is over it, and the parts
that fill it. A run that meets every target prints no such section.
"""

from __future__ import annotations

from bench import report
from bench.stages import STAGES


def _step(seconds: float, **more: float) -> dict[str, object]:
    return {"rows": 1_000_000, "seconds_median": seconds, "all_ok": True, **more}


def _summary(full: float, work: float, incremental: float, incremental_work: float) -> dict:
    return {
        "full_cli": _step(full, peak_rss_mb_max=800.0),
        "full_in_process": _step(
            work + 2.0,
            work_seconds_median=work,
            work_rows_per_second=round(1_000_000 / work),
            cpu_seconds_median=0.75 * (work + 2.0),
            server_cpu_seconds_median=0.5 * (work + 2.0),
            machine_cpu_per_wall=1.25,
            peak_rss_mb_max=900.0,
        ),
        "incremental": _step(incremental, work_seconds_median=incremental_work),
        "pgloader_text": _step(10.0),
        "copy_floor": _step(5.0),
        "schema_floor": _step(13.0, work_seconds_median=12.0),
    }


def _targets(summary: dict) -> dict[str, dict[str, object]]:
    targets = report.ratios(summary, 1_000_000)["targets"]
    assert isinstance(targets, dict)
    return targets


def _stages(work: float) -> dict[str, object]:
    share = work / len(STAGES)
    return {"wall_seconds": work, "stages": dict.fromkeys(STAGES, share)}


def test_each_target_not_met_says_its_budget_and_what_fills_it() -> None:
    summary = _summary(full=60.0, work=50.0, incremental=12.0, incremental_work=8.0)
    targets = _targets(summary)
    assert [t["met"] for t in targets.values()] == [False, False, False, False, True]

    left = report.what_is_left(summary, _stages(50.0), targets)
    text = "\n".join(left)
    # CLI: 4 x pgloader's 10 s allows 40 s; 60 s is 20 s more; four of the ten stages are
    # our own rules and checks (20 s, 2x pgloader), four the reading and writing (20 s)
    assert "allows 40.0 s (4 x 10.0 s), the run took 60.0 s, 20.0 s more" in text
    assert "take 20.0 s, 2.0x pgloader's whole copy on their own (the target allows 4x" in text
    assert "index/constraint build) 20.0 s against pgloader's 10.0 s" in text
    assert "the schema floor's 12.0 s; Dagster and the rest 10.0 s." in text
    # rows/s: 1M rows at 35,000 rows/s allow 28.6 s; both floors 17 s
    assert "allow 28.6 s of work, it took 50.0 s, 21.4 s more" in text
    assert "alone take 17.0 s (60% of that budget)" in text
    # pgloader copied the 1M rows in 10 s: 100,000 rows/s, of which the target is 35 %
    assert "ran at 100,000 rows/s on this machine (35% of it is the target)" in text
    # CPU: 1.5 x 52 s = 78 s, less Python's 39 s: 39 s of server CPU
    assert "used 39.0 CPU s (0.75 of a core) and the PostgreSQL server 26.0 s (0.50)" in text
    assert "1.5 cores need 39.0 s of server CPU" in text
    # incremental: 60 s / 10 allows 6 s; 4 s of the 12 s are the command's start
    assert "allows 6.0 s, the sync took 12.0 s: 4.0 s the command's start" in text
    assert "67% of the budget on its own) and 8.0 s of work" in text
    assert "memory" not in text, "memory was met"
    assert len([line for line in left if line.startswith("- ")]) == 4


def test_a_run_that_meets_every_target_has_nothing_left() -> None:
    summary = _summary(full=30.0, work=20.0, incremental=2.0, incremental_work=1.0)
    summary["full_in_process"]["machine_cpu_per_wall"] = 1.6
    targets = _targets(summary)
    assert all(t["met"] for t in targets.values())
    assert report.what_is_left(summary, _stages(20.0), targets) == []
