"""Run a command and measure it: wall clock, CPU time and peak memory of its whole process tree.

Peak memory is the largest sum of the resident set sizes of the command and all its descendants,
sampled from ``/proc`` every 50 ms (``/usr/bin/time`` sees one process only; ``dagster job
execute`` and pgloader start others). CPU time is what the finished tree used (user + system,
from ``os.times`` of the waited children), so a shared machine shows as wall > CPU.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measurement:
    """One command's run."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str

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


def run(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 3600.0,
    interval: float = 0.05,
) -> Measurement:
    """Run ``command`` to its end, sampling its process tree's memory every ``interval`` s."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
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
        out.seek(0)
        err.seek(0)
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        return Measurement(seconds, cpu, peak, process.returncode, out.read(), err.read())
