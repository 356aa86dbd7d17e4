"""Run a command and measure it: wall clock, CPU time and peak memory of its whole process tree.

Peak memory is the largest sum of the resident set sizes of the command and all its descendants,
sampled from ``/proc`` every 50 ms (``/usr/bin/time`` sees one process only; ``dagster job
execute`` and pgloader start others). CPU time is what the finished tree used (user + system,
from ``os.times`` of the waited children).

Two more CPU figures show how much of the machine a run kept busy, since much of the work is
PostgreSQL's: the PostgreSQL server's CPU seconds over the run (its postmaster's process tree,
plus what the postmaster collected from backends that ended meanwhile: ``cutime``/``cstime``),
and the whole machine's (``/proc/stat``, every core's non-idle time, other users included).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.databases import server_pid

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measurement:
    """One command's run."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str
    server_cpu_seconds: float | None = None
    machine_cpu_seconds: float | None = None

    @property
    def peak_rss_mb(self) -> float:
        """Peak resident memory of the process tree in MiB."""
        return self.peak_rss_bytes / 2**20


def _parents() -> dict[int, int]:
    """The parent of every running process, by process id (one pass over /proc)."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(entry.name)] = int(fields[1])
    return out


def tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and its descendants (processes gone meanwhile count 0)."""
    total = 0
    for pid in tree(root):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_cpu_seconds() -> float:
    """Non-idle CPU seconds of all cores since boot (``/proc/stat``; iowait counts as idle)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / TICKS


def _stat_fields(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def server_cpu_seconds(postmaster: int | None) -> float | None:
    """CPU seconds the PostgreSQL server used so far: live processes + the ended, collected."""
    if postmaster is None:
        return None
    try:
        root = _stat_fields(postmaster)
    except OSError:
        return None
    # fields after the name: utime is the 12th, stime 13th, cutime 14th, cstime 15th (from 0: 11-14)
    total = int(root[13]) + int(root[14])
    for pid in tree(postmaster):
        try:
            fields = _stat_fields(pid)
        except OSError:  # ended meanwhile: the postmaster's cutime has it next time
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _delta(after: float | None, before: float | None) -> float | None:
    return round(after - before, 3) if after is not None and before is not None else None


def run(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 3600.0,
    interval: float = 0.05,
) -> Measurement:
    """Run ``command`` to its end, sampling its process tree's memory every ``interval`` s."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        postmaster = server_pid()
        server_before, machine_before = server_cpu_seconds(postmaster), machine_cpu_seconds()
        before = os.times()
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        peak = 0
        try:
            while process.poll() is None:
                peak = max(peak, tree_rss(process.pid))
                if time.perf_counter() - started > timeout:
                    raise subprocess.TimeoutExpired(list(command), timeout)
                time.sleep(interval)
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - started
        after = os.times()
        server = _delta(server_cpu_seconds(postmaster), server_before)
        machine = _delta(machine_cpu_seconds(), machine_before)
        out.seek(0)
        err.seek(0)
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        return Measurement(
            seconds, cpu, peak, process.returncode, out.read(), err.read(), server, machine
        )
