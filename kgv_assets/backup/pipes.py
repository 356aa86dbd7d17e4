"""Pipelines of programs (pg_dump | age, age -d | pg_restore | psql) without a shell.

Each stage's stderr goes to its own temporary file (a full pipe would block it); when the
pipeline fails, the error names the stage that failed first for a reason of its own — a stage
killed by a broken pipe only followed another one's failure.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any


class PipelineError(RuntimeError):
    """A stage of a pipeline failed; ``stage`` names it, ``stderr`` is what it said."""

    def __init__(self, stage: str, returncode: int, stderr: str) -> None:
        """Remember the failed stage and its error output."""
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        detail = " | ".join(lines[-3:]) if lines else f"exit status {returncode}"
        super().__init__(f"{stage} failed: {detail}")
        self.stage = stage
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True)
class Stage:
    """One program of a pipeline."""

    name: str
    command: list[str]
    env: Mapping[str, str] | None = None


class Pipeline:
    """Start ``stages`` connected stdout → stdin; read ``stdout`` and then ``wait()``."""

    def __init__(
        self, stages: Sequence[Stage], stdin: Any = None, stdout: Any = subprocess.PIPE
    ) -> None:
        """Start every stage (the first reads ``stdin``, the last writes ``stdout``)."""
        self.stages = list(stages)
        self.procs: list[subprocess.Popen] = []
        self.errors: list[IO[bytes]] = []
        previous = stdin
        for i, stage in enumerate(self.stages):
            last = i == len(self.stages) - 1
            err = tempfile.TemporaryFile()
            proc = subprocess.Popen(
                stage.command,
                stdin=previous,
                stdout=stdout if last else subprocess.PIPE,
                stderr=err,
                env=dict(stage.env) if stage.env is not None else None,
            )
            if i > 0 and previous is not None:
                previous.close()  # the next stage holds it now
            previous = proc.stdout
            self.procs.append(proc)
            self.errors.append(err)
        self.stdin = self.procs[0].stdin
        self.stdout = self.procs[-1].stdout

    def wait(self) -> None:
        """Wait for every stage; raise ``PipelineError`` for the one that failed first."""
        failures = []
        for stage, proc, err in zip(self.stages, self.procs, self.errors, strict=True):
            code = proc.wait()
            err.seek(0)
            text = err.read().decode("utf-8", errors="replace")
            err.close()
            if code != 0:
                failures.append((stage, code, text))
        if not failures:
            return
        real = [
            f for f in failures if f[1] != -signal.SIGPIPE and "broken pipe" not in f[2].lower()
        ]
        stage, code, text = (real or failures)[0]
        raise PipelineError(stage.name, code, text)

    def kill(self) -> None:
        """Stop every stage still running (after an error on our side)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait()
